"""Runtime hooks for Lambda SnapStart: what must be renewed when an execution environment is restored.

With SnapStart, Lambda initialises a function once, when a version is published, and starts every later
execution environment from a snapshot of that initialisation, possibly days later and many times at once.
Whatever the initialisation left in memory is then shared by all of them and as old as the snapshot:
connections whose peers are gone, credentials, pseudo-random state, anything kept against a clock. The module
that holds such state registers how to forget it with `after_restore` when it is imported, so that the
registration is in the snapshot whenever the state can be.

`snapshot_restore_py` comes with Lambda's Python runtimes (the layer does not ship it; the development venv pins
it for the tests). Where it is missing nothing is ever restored, and registering does nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def after_restore[Renewal: Callable[[], object]](renew: Renewal) -> Renewal:
    """Have Lambda call `renew` (no arguments, must not raise) in each environment restored from a snapshot."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return renew
    register_after_restore(renew)
    return renew


def _reseed() -> None:
    """`random` seeds itself once, from the kernel, when first imported: every environment restored from one
    snapshot would draw the same numbers from it (botocore's and urllib3's retry jitter among them). `secrets`
    and `uuid4`, which our ids and keys use, read the kernel at each call and need nothing."""
    random.seed()


after_restore(_reseed)
