"""Replicates resumed from the store count as done from the moment they are known, and
the time left is estimated from the replicates this run computes, not from those it
found stored."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import crystallize.cli.progress as progress_module
from crystallize.cli.progress import RunProgress
from crystallize.record import ReplicateRecord


def _record(condition: str, replicate: int) -> ReplicateRecord:
    return ReplicateRecord(condition, replicate, 0, {"m": [1.0]}, [])


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(progress_module, "monotonic", fake)
    return fake


def test_resumed_replicates_count_from_the_start_and_the_eta_counts_computed_ones(clock: _Clock):
    tracker = progress_module.Tracker("exp", ["baseline", "t"], 2)
    tracker.resume([_record("baseline", 0), _record("baseline", 1), _record("t", 0)])
    assert (tracker.done, tracker.total) == (3, 4)
    assert tracker.counts["baseline"].done == 2 and tracker.counts["t"].done == 1
    assert tracker.eta() is None  # nothing computed yet: no pace to go by
    clock.now += 10.0
    tracker.advance(_record("t", 1))
    assert tracker.done == 4
    assert tracker.eta() == 0.0


def test_the_eta_is_the_pace_of_computed_replicates_times_those_left(clock: _Clock):
    tracker = progress_module.Tracker("exp", ["baseline", "t"], 4)
    tracker.resume([_record("baseline", r) for r in range(4)])
    clock.now += 10.0
    tracker.advance(_record("t", 0))
    # 1 replicate computed in 10 s, 3 left: 30 s (not 10 / 5 * 3 = 6 s, as if the 4
    # stored ones had been computed in those 10 s too).
    assert tracker.eta() == pytest.approx(30.0)


def test_finish_after_resume_does_not_count_stored_replicates_twice(clock: _Clock):
    class FakeResult:
        records = [_record("baseline", 0), _record("baseline", 1), _record("t", 0), _record("t", 1)]

    tracker = progress_module.Tracker("exp", ["baseline", "t"], 2)
    tracker.resume(FakeResult.records[:3])
    tracker.advance(FakeResult.records[3])
    tracker.finish(FakeResult())
    assert (tracker.done, tracker.total, tracker.errors) == (4, 4, 0)


def test_a_fully_resumed_condition_shows_complete_on_the_live_bar_at_once():
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    with RunProgress(console, live=True).track("exp", ["baseline", "t"], 2) as tracker:
        tracker.resume([_record("baseline", 0), _record("baseline", 1)])
        tasks = {task.description.split(" · ")[1]: task for task in tracker.progress.tasks}  # type: ignore[attr-defined]
        assert tasks["baseline"].completed == 2 and tasks["baseline"].finished
        assert tasks["t"].completed == 0
        # The bar's own time left is not estimated from the jump of the resumed ones.
        assert tasks["baseline"].speed is None
        tracker.advance(_record("t", 0))
        tracker.advance(_record("t", 1))
    assert tasks["t"].completed == 2


def test_a_fully_resumed_condition_is_reported_done_on_plain_output_at_once():
    out = io.StringIO()
    with RunProgress(Console(file=out, width=120)).track("exp", ["baseline", "t"], 2) as tracker:
        tracker.resume([_record("baseline", 0), _record("baseline", 1)])
        assert "exp · baseline: 2/2 done, 0 error(s)" in out.getvalue()
