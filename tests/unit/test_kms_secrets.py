"""integrations/kms.py: a webhook's signing secret is decrypted by KMS once per execution environment for a while,
by its ciphertext and context; a rotated secret (a new ciphertext) or another webhook's context asks KMS again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import moto
import pytest

from telephony import aws, config
from telephony.integrations import kms


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The stack's key in moto; yields the list of the Decrypt requests KMS received."""
    config.settings.cache_clear()
    with moto.mock_aws():
        aws.reset()
        monkeypatch.setenv("WEBHOOK_KEY_ID", aws.client("kms").create_key()["KeyMetadata"]["KeyId"])
        config.settings.cache_clear()
        decrypts: list[dict[str, Any]] = []
        aws.client("kms").meta.events.register("before-call.kms.Decrypt", lambda params, **_: decrypts.append(params))
        try:
            yield decrypts
        finally:
            aws.reset()
            config.settings.cache_clear()


def test_a_secret_is_decrypted_once_while_it_is_kept(key: list[dict[str, Any]]) -> None:
    clock = Clock()
    secrets = kms.Secrets(clock=clock)
    sealed = secrets.encrypt("whsec_one", context="wh_1")

    assert [secrets.decrypt(sealed, context="wh_1") for _ in range(5)] == ["whsec_one"] * 5
    assert len(key) == 1

    clock.now += kms.PLAINTEXT_TTL_SECONDS - 1
    assert secrets.decrypt(sealed, context="wh_1") == "whsec_one"
    assert len(key) == 1

    clock.now += 1  # kept no longer: KMS is asked again
    assert secrets.decrypt(sealed, context="wh_1") == "whsec_one"
    assert len(key) == 2


def test_a_rotated_secret_or_another_context_is_never_served_from_the_cache(key: list[dict[str, Any]]) -> None:
    secrets = kms.Secrets(clock=Clock())
    old = secrets.encrypt("whsec_old", context="wh_1")
    new = secrets.encrypt("whsec_new", context="wh_1")
    assert secrets.decrypt(old, context="wh_1") == "whsec_old"
    assert secrets.decrypt(new, context="wh_1") == "whsec_new"
    assert len(key) == 2

    # the same ciphertext under another webhook's context is refused by KMS, not answered from the cache
    with pytest.raises(kms.UpstreamUnavailable):
        secrets.decrypt(old, context="wh_2")
    assert len(key) == 3


def test_the_cache_holds_a_bounded_number_of_secrets(key: list[dict[str, Any]]) -> None:
    secrets = kms.Secrets(clock=Clock())
    sealed = [secrets.encrypt(f"whsec_{i}", context=f"wh_{i}") for i in range(kms.PLAINTEXT_ENTRIES + 1)]
    for i, ciphertext in enumerate(sealed):
        secrets.decrypt(ciphertext, context=f"wh_{i}")
    assert len(key) == kms.PLAINTEXT_ENTRIES + 1

    secrets.decrypt(sealed[-1], context=f"wh_{kms.PLAINTEXT_ENTRIES}")  # the newest is kept
    assert len(key) == kms.PLAINTEXT_ENTRIES + 1
    secrets.decrypt(sealed[0], context="wh_0")  # the oldest was let go
    assert len(key) == kms.PLAINTEXT_ENTRIES + 2
