"""`make demo` walks every flow; here it runs against the e2e session's local stack, so it cannot rot."""

from __future__ import annotations

from local import demo


def test_the_demo_walks_every_flow(local_stack, capsys):
    demo.run(local_stack)
    out = capsys.readouterr().out
    assert "demo complete" in out
    assert "call is in_progress" in out and "call is busy" in out and "call is no_answer" in out
    assert "demo-secret" not in out
