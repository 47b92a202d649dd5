"""How long a run took, as ``runs`` (and ``runs --json``) and ``delete`` show it: the time
the run spent running (its first run plus each resume), not the time since it started;
and ``runs --json`` carries machine values (seconds, ISO 8601 times with their offset)."""

from __future__ import annotations

import json
import sqlite3
import types
from datetime import datetime

import pytest

from crystallize.store import DB_FILENAME, list_runs, open_store
from crystallize.store.sqlite import SQLiteRunStore

DAY = 86400.0


def _run(cli, *args: str) -> dict:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _move_back(db, run_id: str, seconds: float) -> None:
    """Pretend run ``run_id`` started and ended ``seconds`` earlier than it did."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET started_at = started_at - ?, ended_at = ended_at - ?, heartbeat_at = heartbeat_at - ? "
            "WHERE run_id = ?",
            (seconds, seconds, seconds, run_id),
        )
    conn.close()


def test_a_resume_that_computes_nothing_leaves_the_duration_alone(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    run_id = _run(cli)["run_id"]
    _move_back(tmp_path / "data" / DB_FILENAME, run_id, DAY)  # it ran yesterday
    (before,) = json.loads(cli("runs", "numbers", "--json").stdout)

    resumed = _run(cli, "--strategy", "resume")
    assert resumed["run_id"] == run_id and resumed["info"]["computed"] == 0

    (after,) = json.loads(cli("runs", "numbers", "--json").stdout)
    assert after["run_id"] == run_id
    assert before["duration"] <= after["duration"] < before["duration"] + 30  # not a day
    table = cli("runs", "numbers").stdout
    assert "24h" not in table and "h " not in table.split(run_id)[1].split("\n")[0]


class Clock:
    """A ``time`` module stand-in for the store's run rows: ``time()`` is ``now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(1_000_000.0)
    monkeypatch.setattr("crystallize.store.run_rows.time", types.SimpleNamespace(time=fake.time))
    return fake


def _new_run(store):
    return store.create_run(experiment="e", fingerprint="f", spec={}, replicates=1, conditions=["baseline"], base_seed=1)


def test_the_active_time_is_the_sum_of_the_runs_spans(tmp_path, clock):
    store = open_store(tmp_path)
    run = _new_run(store)
    clock.now += 10
    store.finish_run(run.run_id, "cancelled")
    assert store.get_run(run.run_id).active_seconds == pytest.approx(10)

    clock.now += 2 * DAY  # resumed two days later, for 5 s
    assert store.reopen_run(run.run_id).active_seconds is None  # running: not known yet
    clock.now += 5
    store.finish_run(run.run_id, "completed")
    info = store.get_run(run.run_id)
    assert info.active_seconds == pytest.approx(15)
    assert info.ended_at - info.started_at == pytest.approx(2 * DAY + 15)  # ended_at is still the end
    store.close()


def test_a_run_found_dead_counts_until_its_last_heartbeat(tmp_path, clock):
    store = open_store(tmp_path)
    run = _new_run(store)
    clock.now += 30
    store.heartbeat(run.run_id)
    clock.now += DAY  # the driver died long ago: marked interrupted at its last heartbeat
    assert store.mark_stale_runs() == [run.run_id]
    store.reopen_run(run.run_id)
    clock.now += 4
    store.finish_run(run.run_id, "completed")
    assert store.get_run(run.run_id).active_seconds == pytest.approx(34)
    store.close()


def _version_3_store(tmp_path):
    """A store as schema version 3 wrote it: no ``paused_seconds`` column."""
    store = open_store(tmp_path)
    run = _new_run(store)
    store.finish_run(run.run_id, "completed")
    store.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN paused_seconds")
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    return run.run_id


def test_a_version_3_store_opens_and_gets_the_column(tmp_path):
    run_id = _version_3_store(tmp_path)
    (run,) = list_runs(tmp_path)
    assert run.run_id == run_id and run.active_seconds == pytest.approx(run.ended_at - run.started_at)
    conn = sqlite3.connect(tmp_path / DB_FILENAME)
    assert "paused_seconds" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    conn.close()


def test_a_version_3_store_reads_read_only(tmp_path):
    _version_3_store(tmp_path)
    store = SQLiteRunStore(tmp_path / DB_FILENAME, read_only=True)
    (run,) = store.list_runs()
    assert run.active_seconds == pytest.approx(run.ended_at - run.started_at)
    store.close()


def test_runs_json_holds_seconds_and_iso_times(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    run_id = _run(cli)["run_id"]
    (row,) = json.loads(cli("runs", "numbers", "--json").stdout)
    (info,) = list_runs(tmp_path / "data")
    assert row["run_id"] == run_id
    assert isinstance(row["duration"], float) and row["duration"] == pytest.approx(info.active_seconds, abs=1e-3)
    started, ended = datetime.fromisoformat(row["started"]), datetime.fromisoformat(row["ended"])
    assert started.utcoffset() is not None and ended.utcoffset() is not None
    assert started.timestamp() == pytest.approx(info.started_at, abs=1e-3)
    assert ended.timestamp() == pytest.approx(info.ended_at, abs=1e-3)
    table = cli("runs", "numbers").stdout  # the table stays human
    assert datetime.fromtimestamp(info.started_at).strftime("%Y-%m-%d %H:%M:%S") in table
