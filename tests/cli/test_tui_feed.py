"""The run screen takes a run's records and log lines in batches, in order, and keeps up
with fast runs."""

from __future__ import annotations

import threading
import time

import pytest
from test_tui_app import SIZE, log_of, open_run_screen, sync, tap, wait_for

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.messages import BatchArrived, RunFeed, RunStarted
from crystallize.cli.tui.screens.run import UPDATE_EVERY, RunScreen, batch_lines
from crystallize.record import ReplicateError, ReplicateRecord
from crystallize.store import list_runs


def _record(replicate: int, error: bool = False, condition: str = "baseline") -> ReplicateRecord:
    failure = ReplicateError(condition, replicate, "fit", "boom", "ValueError") if error else None
    return ReplicateRecord(condition, replicate, 0, {"m": [float(replicate)]}, [], error=failure)


def _events(posted: list) -> list:
    """What the screen would see: each batch (replicate numbers and log lines) at the time it
    is handled, or the other message's experiment name."""
    seen = []
    for message in posted:
        if isinstance(message, BatchArrived):
            seen.append([entry if isinstance(entry, str) else entry[1].replicate for entry in message.take()])
        else:
            seen.append(message.name)
    return seen


def test_records_and_log_lines_are_batched_under_one_message_until_another_message():
    posted: list = []
    feed = RunFeed(posted.append)
    for replicate in range(3):
        feed.record("exp", _record(replicate))
        feed.log(f"line {replicate}")
    feed.post(RunStarted("next", ["baseline"], 1, "rerun"))
    feed.record("next", _record(3))
    assert len(posted) == 3  # one message for the first six entries
    assert _events(posted) == [[0, "line 0", 1, "line 1", 2, "line 2"], "next", [3]]


def test_a_taken_batch_is_closed_and_later_records_come_with_a_new_message():
    posted: list = []
    feed = RunFeed(posted.append)
    feed.record("exp", _record(0))
    feed.record("exp", _record(1))
    assert [entry[1].replicate for entry in posted[0].take()] == [0, 1]
    assert posted[0].take() == []  # taken once
    feed.record("exp", _record(2))
    assert len(posted) == 2 and [entry[1].replicate for entry in posted[1].take()] == [2]


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


def test_a_flood_is_logged_as_its_last_lines_after_a_count_of_the_others():
    entries: list = [("exp", _record(r, error=r in (3, 7))) for r in range(10)]
    entries.insert(2, "a logged line")
    lines = batch_lines(entries, limit=4)
    assert lines[0].startswith("… 6 replicate(s) (1 failed) and 1 other line(s) left out")
    assert "at most 4 lines per update" in lines[0]
    assert [line.split("#")[1].split()[0] for line in lines[1:]] == ["6", "7:", "8", "9"]
    assert lines[2] == "✗ exp · baseline #7: ValueError: boom"
    assert batch_lines(entries[:4], limit=4)[2] == "a logged line"
    assert batch_lines(entries[:4], limit=4)[0].startswith("✓ exp · baseline #0 (")


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
@sync
async def test_a_fast_run_of_many_replicates_is_counted_exactly_in_few_updates(make_experiment, monkeypatch, verbose):
    folder = make_experiment("many", replicates=200)
    if verbose:  # a line per step and per replicate: still batched with the records
        config = folder / "config.yaml"
        config.write_text(config.read_text() + "  logging: {verbose: true}\n")
    updates = []
    show_batch = RunScreen.show_batch
    monkeypatch.setattr(RunScreen, "show_batch", lambda self, message: updates.append(1) or show_batch(self, message))
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "many")
        started = time.monotonic()
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.done >= 600 and screen.controller is None, timeout=120)
        took = time.monotonic() - started
        await pilot.pause()
        # at most one update per interval, plus one before each other message of the run
        assert len(updates) <= took / UPDATE_EVERY + 5, (len(updates), took)
        bar = screen.query_one("#run-progress")
        assert screen.done == 600 and (bar.progress, bar.total) == (600, 600)
        counts = screen.trackers["many"].counts
        assert {condition: count.done for condition, count in counts.items()} == {
            "baseline": 200, "shifted": 200, "doubled": 200,
        }
        log = log_of(screen)
        assert "many · doubled #199" in log or "many · shifted #199" in log
        assert ("replicate done in" in log) is verbose
    (run,) = list_runs("data", "many")
    assert run.status == "completed" and run.n_records == 600
