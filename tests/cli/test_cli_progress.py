"""Progress: plain lines off a terminal, a live bar on one."""

from __future__ import annotations

import io

from rich.console import Console

from crystallize.cli.progress import RunProgress, format_seconds
from crystallize.record import ReplicateError, ReplicateRecord


def _record(condition: str, replicate: int, error: bool = False) -> ReplicateRecord:
    failure = ReplicateError(condition, replicate, "step", "boom", "ValueError") if error else None
    return ReplicateRecord(condition, replicate, 0, {"m": [1.0]}, [], error=failure)


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=120))
    assert not progress.live
    with progress.track("exp", ["baseline", "t"], 2) as tracker:
        for condition in ("baseline", "t"):
            for replicate in range(2):
                tracker.advance(_record(condition, replicate, error=(condition == "t" and replicate == 1)))
    lines = out.getvalue().splitlines()
    assert lines == [
        "exp: running 2 condition(s) × 2 replicate(s)",
        "exp · baseline: 2/2 done, 0 error(s)",
        "exp · t: 2/2 done, 1 error(s)",
    ]
    assert tracker.errors == 1 and tracker.done == 4 and tracker.eta() == 0


def test_resumed_records_complete_the_count():
    class FakeResult:
        records = [_record("baseline", 0), _record("baseline", 1)]

    out = io.StringIO()
    with RunProgress(Console(file=out, width=120)).track("exp", ["baseline"], 2) as tracker:
        tracker.finish(FakeResult())
    assert "exp · baseline: 2/2 done, 0 error(s)" in out.getvalue()


def test_live_bar_on_a_terminal():
    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=120, force_terminal=True), live=True)
    with progress.track("exp", ["baseline"], 3) as tracker:
        for replicate in range(3):
            tracker.advance(_record("baseline", replicate))
    assert "3/3" in out.getvalue()
    assert "exp · baseline" in out.getvalue()


def test_quiet_shows_nothing():
    out = io.StringIO()
    with RunProgress(Console(file=out), quiet=True).track("exp", ["baseline"], 1) as tracker:
        tracker.advance(_record("baseline", 0))
    assert out.getvalue() == ""


def test_format_seconds():
    assert [format_seconds(s) for s in (4.4, 65, 3725)] == ["4s", "1m 05s", "1h 02m"]
