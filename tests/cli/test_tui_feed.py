"""The run screen takes a run's records in batches, in order, and keeps up with fast runs."""

from __future__ import annotations

import threading
import time

from test_tui_app import SIZE, log_of, open_run_screen, sync, tap, wait_for

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.messages import LogLine, RecordsArrived, RunFeed
from crystallize.cli.tui.screens.run import SHOW_RECORDS_EVERY, RunScreen, record_lines
from crystallize.record import ReplicateError, ReplicateRecord
from crystallize.store import list_runs


def _record(replicate: int, error: bool = False, condition: str = "baseline") -> ReplicateRecord:
    failure = ReplicateError(condition, replicate, "fit", "boom", "ValueError") if error else None
    return ReplicateRecord(condition, replicate, 0, {"m": [float(replicate)]}, [], error=failure)


def _events(posted: list) -> list:
    """What the screen would see: each batch's records at the time it is handled, or the message."""
    seen = []
    for message in posted:
        if isinstance(message, RecordsArrived):
            seen.append([record.replicate for _, record in message.take()])
        else:
            seen.append(message.text)
    return seen


def test_records_are_batched_under_one_message_until_another_message():
    posted: list = []
    feed = RunFeed(posted.append)
    for replicate in range(3):
        feed.record("exp", _record(replicate))
    feed.post(LogLine("between"))
    feed.record("exp", _record(3))
    assert len(posted) == 3  # one message for the first three records
    assert _events(posted) == [[0, 1, 2], "between", [3]]


def test_a_taken_batch_is_closed_and_later_records_come_with_a_new_message():
    posted: list = []
    feed = RunFeed(posted.append)
    feed.record("exp", _record(0))
    feed.record("exp", _record(1))
    assert [r.replicate for _, r in posted[0].take()] == [0, 1]
    assert posted[0].take() == []  # taken once
    feed.record("exp", _record(2))
    assert len(posted) == 2 and [r.replicate for _, r in posted[1].take()] == [2]


def test_records_added_from_many_threads_are_all_delivered_once():
    posted: list = []
    feed = RunFeed(posted.append)
    taken: list[int] = []
    done = threading.Event()

    def screen() -> None:  # takes batches while the threads add records
        handled = 0
        while not done.is_set() or handled < len(posted):
            while handled < len(posted):
                taken.extend(r.replicate for _, r in posted[handled].take())
                handled += 1

    reader = threading.Thread(target=screen)
    reader.start()
    workers = [
        threading.Thread(target=lambda w=w: [feed.record("exp", _record(w * 1000 + i)) for i in range(500)])
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    reader.join()
    assert sorted(taken) == sorted(w * 1000 + i for w in range(4) for i in range(500))


def test_a_flood_of_records_is_logged_as_its_last_lines_after_a_count_of_the_others():
    arrived = [("exp", _record(r, error=r in (3, 7))) for r in range(10)]
    lines = record_lines(arrived, limit=4)
    assert lines[0].startswith("… 6 replicate(s) finished without a line here (1 failed)")
    assert "at most 4 per update" in lines[0]
    assert [line.split("#")[1].split()[0] for line in lines[1:]] == ["6", "7:", "8", "9"]
    assert lines[2] == "✗ exp · baseline #7: ValueError: boom"
    assert record_lines(arrived[:4], limit=4)[0].startswith("✓ exp · baseline #0 (")


@sync
async def test_a_fast_run_of_many_replicates_is_counted_exactly_in_few_updates(make_experiment, monkeypatch):
    make_experiment("many", replicates=200)
    updates = []
    show_records = RunScreen.show_records
    monkeypatch.setattr(RunScreen, "show_records", lambda self, message: updates.append(1) or show_records(self, message))
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "many")
        started = time.monotonic()
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.done >= 600 and screen.controller is None, timeout=120)
        took = time.monotonic() - started
        await pilot.pause()
        # at most one update per interval, plus one before each other message of the run
        assert len(updates) <= took / SHOW_RECORDS_EVERY + 5, (len(updates), took)
        bar = screen.query_one("#run-progress")
        assert screen.done == 600 and (bar.progress, bar.total) == (600, 600)
        counts = screen.trackers["many"].counts
        assert {condition: count.done for condition, count in counts.items()} == {
            "baseline": 200, "shifted": 200, "doubled": 200,
        }
        assert "many · doubled #199" in log_of(screen) or "many · shifted #199" in log_of(screen)
    (run,) = list_runs("data", "many")
    assert run.status == "completed" and run.n_records == 600
