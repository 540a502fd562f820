"""The benchmark's in-process world runs the handlers with what the deployed layer can import: the X-Ray SDK,
which this venv holds (moto's server, tests/unit/test_tracing.py) and the layer does not, stays out of reach,
so Powertools Tracer is off in the warm figures as it is on Lambda."""

from __future__ import annotations

import importlib
import os
from unittest import mock

import pytest

from bench.world import hide_what_lambda_lacks, lambda_environment, unhide
from telephony import observability


@pytest.fixture
def lambda_env():
    with mock.patch.dict(os.environ, lambda_environment("bench-test")):
        os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)
        observability._tracer = None
        yield
    observability._tracer = None


def test_the_sdk_is_unimportable_while_hidden_and_back_after() -> None:
    importlib.import_module("aws_xray_sdk")  # present in this venv: otherwise the test proves nothing
    saved = hide_what_lambda_lacks()
    try:
        assert "aws_xray_sdk" in saved
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("aws_xray_sdk")
    finally:
        unhide(saved)
    assert importlib.import_module("aws_xray_sdk")


def test_the_tracer_is_off_in_lambda_while_hidden(lambda_env) -> None:
    saved = hide_what_lambda_lacks()
    try:
        assert observability._tracing() is False
    finally:
        unhide(saved)
