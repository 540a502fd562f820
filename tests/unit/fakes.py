"""Fakes of the repositories for the services' unit tests: a Store whose parts the test gives, the rest
refusing to be used (a service that touches a repository its test did not expect fails loudly)."""

from __future__ import annotations

from typing import Any

from telephony.repositories.store import Store


class Unexpected:
    """A repository the test did not expect the service to use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(
            f"the service used the {self.name} repository ({attribute}), which this test did not expect"
        )


def fake_store(**given: Any) -> Store:
    return Store(**{name: given.get(name, Unexpected(name)) for name in Store._fields})
