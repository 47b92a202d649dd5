"""The SQLite run store: lifecycle, queries, round trips, schema and stale runs."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateError, ReplicateRecord, StepRecord
from crystallize.store import (
    DB_FILENAME,
    SCHEMA_VERSION,
    RunNotFoundError,
    SerializationError,
    SQLiteRunStore,
    open_store,
)


def record(condition: str, replicate: int, *, failed: bool = False, value: float = 0.5):
    error = (
        ReplicateError(
            condition,
            replicate,
            "fit",
            "boom",
            "RuntimeError",
            "Traceback...\nRuntimeError: boom\n",
        )
        if failed
        else None
    )
    return ReplicateRecord(
        condition=condition,
        replicate=replicate,
        seed=1000 + replicate,
        metrics={"score": [value, float("nan")], "n": [replicate], "nested": [{"k": [1, 2.0]}]},
        steps=[
            StepRecord(
                "fit",
                {"lr": 0.1, "layers": [8, 4]},
                "aa",
                "bb",
                False,
                {"x": 1},
                ["y"],
                {"m": [1]},
                0.01,
                "new",
            )
        ],
        error=error,
        duration=0.125,
        started_at=1700000000.5,
        events=[("tick", {"i": replicate})],
        metric_tags={"score": [{"epoch": 1}, None]},
        worker=77,
    )


def new_run(store, experiment="exp", fingerprint="fp1", conditions=("baseline", "treat"), **kw):
    return store.create_run(
        experiment=experiment,
        fingerprint=fingerprint,
        spec={"steps": ["a", "b"], "params": {"lr": 0.1}},
        replicates=3,
        conditions=list(conditions),
        base_seed=kw.pop("base_seed", 42),
        **kw,
    )


def raw_update(path, sql, params=()):
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql, params)
    conn.close()


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "data") as s:
        yield s


def test_open_store_creates_directory_and_wal_file(tmp_path):
    root = tmp_path / "a" / "b"
    with open_store(root) as s:
        assert s.path == root / DB_FILENAME
        assert s.path.is_file()
    conn = sqlite3.connect(root / DB_FILENAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_create_run_records_driver_and_times(store):
    before = time.time()
    run = new_run(store, parent_run="abc")
    assert run.status == "running" and not run.finished
    assert len(run.run_id) == 12 and int(run.run_id, 16) >= 0
    assert run.pid == os.getpid() and run.hostname == socket.gethostname()
    assert before <= run.started_at <= time.time()
    assert run.heartbeat_at == run.started_at and run.ended_at is None
    assert run.conditions == ("baseline", "treat") and run.replicates == 3 and run.base_seed == 42
    assert run.spec == {"steps": ["a", "b"], "params": {"lr": 0.1}}
    assert (
        run.parent_run == "abc"
        and run.n_records == 0
        and run.warnings == ()
        and run.summary is None
    )
    assert store.get_run(run.run_id) == run
    assert new_run(store).run_id != run.run_id


def test_create_run_validates_arguments(store):
    with pytest.raises(StoreError, match="unique"):
        new_run(store, conditions=("a", "a"))
    with pytest.raises(StoreError, match="replicates"):
        store.create_run(
            experiment="e", fingerprint="f", spec={}, replicates=-1, conditions=[], base_seed=None
        )
    with pytest.raises(StoreError, match="JSON"):
        store.create_run(
            experiment="e",
            fingerprint="f",
            spec={"x": object()},
            replicates=1,
            conditions=[],
            base_seed=None,
        )
    assert store.list_runs() == []


def test_huge_and_missing_base_seed_round_trip(store):
    assert new_run(store, base_seed=2**100 + 1).base_seed == 2**100 + 1
    assert new_run(store, base_seed=None).base_seed is None


def test_records_round_trip_in_condition_then_replicate_order(store):
    run = new_run(store, conditions=("treat", "baseline"))
    written = [
        record("baseline", 1),
        record("treat", 2, failed=True),
        record("baseline", 0),
        record("treat", 0),
    ]
    store.append_records(run.run_id, written[:2])
    store.append_records(run.run_id, written[2:])
    loaded = store.load_records(run.run_id)
    assert [(r.condition, r.replicate) for r in loaded] == [
        ("treat", 0),
        ("treat", 2),
        ("baseline", 0),
        ("baseline", 1),
    ]
    by_key = {(r.condition, r.replicate): r for r in written}
    for back in loaded:
        assert repr(back) == repr(by_key[back.condition, back.replicate])
    assert [r.ok for r in loaded] == [True, False, True, True]
    assert loaded[1].error.traceback.endswith("RuntimeError: boom\n")
    assert type(loaded[0].metrics["n"][0]) is int and type(loaded[0].metrics["score"][0]) is float
    assert store.get_run(run.run_id).n_records == 4


def test_a_batch_of_any_size_is_stored_whole_and_in_order(store):
    from crystallize.store.record_rows import ROWS_PER_INSERT, chunk_sizes

    for rows in (0, 1, 2, 3, 88, 127, 128, 129, 300, 600):
        sizes = chunk_sizes(rows)
        assert sum(sizes) == rows and sizes == sorted(sizes, reverse=True)
        assert all(s == ROWS_PER_INSERT or (s < ROWS_PER_INSERT and s & (s - 1) == 0) for s in sizes)
    run = new_run(store, conditions=("baseline",))
    store.append_records(run.run_id, [record("baseline", rep) for rep in range(300)])
    loaded = store.load_records(run.run_id)
    assert [r.replicate for r in loaded] == list(range(300))
    assert [r.seed for r in loaded] == [1000 + rep for rep in range(300)]


def test_unknown_conditions_sort_last(store):
    run = new_run(store, conditions=("b",))
    store.append_records(
        run.run_id, [record("z", 0), record("a", 1), record("b", 5), record("a", 0)]
    )
    assert [(r.condition, r.replicate) for r in store.load_records(run.run_id)] == [
        ("b", 5),
        ("a", 0),
        ("a", 1),
        ("z", 0),
    ]


def test_rewriting_a_replicate_replaces_it(store):
    run = new_run(store)
    store.append_records(run.run_id, [record("treat", 1, failed=True), record("treat", 0)])
    store.append_records(run.run_id, [record("treat", 1, value=0.9)])
    loaded = store.load_records(run.run_id)
    assert len(loaded) == 2 and store.get_run(run.run_id).n_records == 2
    assert loaded[1].ok and loaded[1].metrics["score"][0] == 0.9
    row = (
        sqlite3.connect(store.path)
        .execute(
            "SELECT status, seed, duration FROM records WHERE run_id = ? AND replicate = 1",
            (run.run_id,),
        )
        .fetchone()
    )
    assert row == ("ok", 1001, 0.125)


def test_failed_replicates_come_from_the_status_column(store):
    from crystallize.store.base import RunStore

    run = new_run(store)
    store.append_records(
        run.run_id,
        [record("baseline", 0), record("baseline", 1, failed=True), record("treat", 2, failed=True)],
    )
    assert store.failed_replicates(run.run_id, "baseline") == {1}
    assert store.failed_replicates(run.run_id, "treat") == {2}
    assert RunStore.failed_replicates(store, run.run_id, "baseline") == {1}  # the default agrees
    store.append_records(run.run_id, [record("baseline", 1)])  # resumed: now ok
    assert store.failed_replicates(run.run_id, "baseline") == set()
    with pytest.raises(RunNotFoundError):
        store.failed_replicates("nope", "baseline")


def test_batch_is_all_or_nothing(store):
    run = new_run(store)
    with pytest.raises(StoreError, match="replicate must be an int"):
        store.append_records(
            run.run_id, [record("treat", 0), ReplicateRecord("treat", "x", 1, {}, [])]
        )
    assert store.load_records(run.run_id) == []


def test_a_value_json_cannot_hold_is_stored_as_its_text(store, caplog):
    run = new_run(store)
    from fractions import Fraction

    cycle: list = []
    cycle.append(cycle)  # not even encodable as text as a whole: its parts are
    odd = ReplicateRecord("treat", 1, 1, {"x": [Fraction(1, 3)], "z": [1j], "c": [cycle]}, [])
    store.append_records(run.run_id, [record("treat", 0), odd])
    stored = {r.replicate: r for r in store.load_records(run.run_id)}
    assert stored[0].metrics["n"] == [0] and stored[0].steps == record("treat", 0).steps
    assert stored[1].metrics == {"x": [1 / 3], "z": ["1j"], "c": [["[[...]]"]]}
    assert "replicate 1 holds values JSON cannot hold" in caplog.text and "complex 1j" in caplog.text


def test_records_of_runs_are_separate(store):
    a, b = new_run(store), new_run(store)
    store.append_records(a.run_id, [record("treat", 0)])
    store.append_records(b.run_id, [record("treat", 0), record("treat", 1)])
    assert len(store.load_records(a.run_id)) == 1 and len(store.load_records(b.run_id)) == 2
    store.append_records(a.run_id, [])
    assert store.get_run(a.run_id).n_records == 1


def test_finish_run_statuses_summary_warnings(store):
    run = new_run(store)
    store.finish_run(
        run.run_id,
        "completed",
        summary={"p": 0.01, "acc": [0.5, float("inf")]},
        warnings=["w1", "w2"],
    )
    done = store.get_run(run.run_id)
    assert done.status == "completed" and done.finished
    assert done.ended_at is not None and done.ended_at >= done.started_at
    assert done.summary["p"] == 0.01 and done.summary["acc"] == [0.5, float("inf")]
    assert done.warnings == ("w1", "w2")
    with pytest.raises(StoreError, match="Unknown run status 'done'"):
        store.finish_run(run.run_id, "done")
    store.finish_run(run.run_id, "failed")  # None keeps summary and warnings
    again = store.get_run(run.run_id)
    assert (
        again.status == "failed"
        and again.summary == done.summary
        and again.warnings == ("w1", "w2")
    )
    for status in ("cancelled", "interrupted", "completed"):
        store.finish_run(run.run_id, status)
        assert store.get_run(run.run_id).status == status


def test_reopen_run_makes_it_running_again(store):
    run = new_run(store)
    store.finish_run(run.run_id, "interrupted")
    raw_update(
        store.path,
        "UPDATE runs SET pid = 1, hostname = 'elsewhere' WHERE run_id = ?",
        (run.run_id,),
    )
    reopened = store.reopen_run(run.run_id)
    assert reopened.status == "running" and reopened.ended_at is None
    assert reopened.pid == os.getpid() and reopened.hostname == socket.gethostname()
    more = run.replicates + 4
    assert store.reopen_run(run.run_id, replicates=more).replicates == more  # a resume adding replicates
    assert store.reopen_run(run.run_id, replicates=1).replicates == more  # never lowered


def test_heartbeat_updates_time_and_revives_own_interrupted_run(store):
    run = new_run(store)
    time.sleep(0.01)
    store.heartbeat(run.run_id)
    assert store.get_run(run.run_id).heartbeat_at > run.heartbeat_at
    store.finish_run(run.run_id, "interrupted")
    store.heartbeat(run.run_id)
    assert store.get_run(run.run_id).status == "running"
    assert store.get_run(run.run_id).ended_at is None
    store.finish_run(run.run_id, "completed")
    store.heartbeat(run.run_id)  # a finished run stays finished
    assert store.get_run(run.run_id).status == "completed"


def test_stored_records_count_as_a_heartbeat(store):
    """A run whose driver dies between heartbeats ends, when found dead, at its last
    records rather than at a heartbeat up to 5 s older (shown as a duration of 0 s)."""
    run = new_run(store)
    time.sleep(0.01)
    store.append_records(run.run_id, [record("baseline", 0)])
    assert store.get_run(run.run_id).heartbeat_at > run.heartbeat_at


def test_unknown_run_raises_run_not_found(store):
    calls = [
        lambda: store.get_run("nope"),
        lambda: store.heartbeat("nope"),
        lambda: store.finish_run("nope", "completed"),
        lambda: store.append_records("nope", [record("a", 0)]),
        lambda: store.append_records("nope", []),
        lambda: store.load_records("nope"),
        lambda: store.delete_run("nope"),
    ]
    for call in calls:
        with pytest.raises(RunNotFoundError, match="'nope'") as info:
            call()
        assert isinstance(info.value, StoreError)


def test_list_latest_and_delete(store):
    r1 = new_run(store, experiment="a", fingerprint="f1")
    r2 = new_run(store, experiment="b", fingerprint="f1")
    r3 = new_run(store, experiment="a", fingerprint="f2")
    r4 = new_run(store, experiment="a", fingerprint="f1")
    store.finish_run(r1.run_id, "completed")
    store.finish_run(r3.run_id, "failed")
    assert [r.run_id for r in store.list_runs()] == [r4.run_id, r3.run_id, r2.run_id, r1.run_id]
    assert [r.run_id for r in store.list_runs("a")] == [r4.run_id, r3.run_id, r1.run_id]
    assert [r.run_id for r in store.list_runs("a", limit=2)] == [r4.run_id, r3.run_id]
    assert store.list_runs("zzz") == [] and store.list_runs(limit=0) == []
    assert store.latest_run("a").run_id == r4.run_id
    assert store.latest_run("a", fingerprint="f2").run_id == r3.run_id
    assert store.latest_run("a", statuses=["completed", "failed"]).run_id == r3.run_id
    assert store.latest_run("a", fingerprint="f1", statuses=["completed"]).run_id == r1.run_id
    assert store.latest_run("a", statuses="running").run_id == r4.run_id
    assert store.latest_run("a", statuses=[]) is None
    assert store.latest_run("zzz") is None
    with pytest.raises(StoreError, match="Unknown run status"):
        store.latest_run("a", statuses=["complete"])

    store.append_records(r4.run_id, [record("treat", 0), record("treat", 1)])
    store.append_records(r1.run_id, [record("treat", 0)])
    store.delete_run(r4.run_id)
    with pytest.raises(RunNotFoundError):
        store.get_run(r4.run_id)
    assert store.latest_run("a").run_id == r3.run_id
    assert len(store.load_records(r1.run_id)) == 1
    count = sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert count == 1


def test_newer_schema_version_is_refused(tmp_path):
    open_store(tmp_path).close()
    raw_update(tmp_path / DB_FILENAME, f"PRAGMA user_version = {SCHEMA_VERSION + 98}")
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 98}.*Upgrade"):
        open_store(tmp_path)


def test_garbage_file_is_refused(tmp_path):
    (tmp_path / DB_FILENAME).write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a Crystallize run store or is corrupt: move it aside"):
        open_store(tmp_path)


def test_foreign_sqlite_database_is_refused_and_left_byte_for_byte(tmp_path):
    raw_update(tmp_path / "other.db", "CREATE TABLE customers (id INTEGER)")
    before = (tmp_path / "other.db").read_bytes()
    with pytest.raises(StoreError, match="customers"):
        SQLiteRunStore(tmp_path / "other.db")
    assert (tmp_path / "other.db").read_bytes() == before  # not even switched to WAL


def test_unopenable_path_raises_store_error(tmp_path):
    with pytest.raises(StoreError):
        SQLiteRunStore(tmp_path / "missing-dir" / "x.db")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="data directory"):
        open_store(tmp_path / "file" / "sub")


def test_closed_store_raises(tmp_path):
    s = open_store(tmp_path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.list_runs()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_runs_are_interrupted_on_open(tmp_path):
    host = socket.gethostname()
    now = time.time()
    with open_store(tmp_path) as s:
        dead = new_run(s, experiment="dead")
        old = new_run(s, experiment="old")
        remote_old = new_run(s, experiment="remote-old")
        remote_fresh = new_run(s, experiment="remote-fresh")
        new_run(s, experiment="alive")
        finished = new_run(s, experiment="finished")
        s.finish_run(finished.run_id, "completed")
    path = tmp_path / DB_FILENAME
    raw_update(
        path,
        "UPDATE runs SET pid = ?, heartbeat_at = ? WHERE run_id = ?",
        (dead_pid(), now - 5, dead.run_id),
    )
    raw_update(path, "UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (now - 1000, old.run_id))
    raw_update(
        path,
        "UPDATE runs SET hostname = 'far', heartbeat_at = ? WHERE run_id = ?",
        (now - 1000, remote_old.run_id),
    )
    # a run on another host is judged by heartbeat only, whatever its pid
    raw_update(
        path,
        "UPDATE runs SET hostname = 'far', pid = ? WHERE run_id = ?",
        (dead_pid(), remote_fresh.run_id),
    )

    with open_store(tmp_path, stale_after=120) as s:
        status = {r.experiment: r for r in s.list_runs()}
        assert status["dead"].status == "interrupted"
        assert status["dead"].ended_at == pytest.approx(now - 5)
        assert "ended without finishing" in status["dead"].warnings[-1]
        assert status["old"].status == "interrupted"
        assert "no heartbeat" in status["old"].warnings[-1] and host in status["old"].warnings[-1]
        assert status["remote-old"].status == "interrupted"
        assert status["remote-fresh"].status == "running"
        assert status["alive"].status == "running" and status["alive"].warnings == ()
        assert status["finished"].status == "completed"
        assert s.mark_stale_runs() == []


def test_one_store_object_used_from_many_threads(store):
    run = new_run(store, conditions=[f"c{i}" for i in range(6)])
    errors = []

    def work(i):
        try:
            for rep in range(20):
                store.append_records(run.run_id, [record(f"c{i}", rep)])
                store.get_run(run.run_id)
            store.release_thread()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    loaded = store.load_records(run.run_id)
    assert [(r.condition, r.replicate) for r in loaded] == [
        (f"c{i}", rep) for i in range(6) for rep in range(20)
    ]


def test_version_1_store_is_migrated_to_hold_preregistrations(tmp_path):
    import sqlite3

    from crystallize.store import SCHEMA_VERSION, open_store
    from crystallize.store.sqlite_schema import SCHEMA

    db = tmp_path / "crystallize.db"
    conn = sqlite3.connect(db)
    for statement in SCHEMA[:-1]:  # everything but the pre-registrations table
        conn.execute(statement.replace(",\n        artifact_version INTEGER", ""))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with open_store(tmp_path) as store:
        record = store.add_preregistration(experiment="e", hypothesis="b.x > a.x", payload={"n": 1})
        assert store.get_preregistration(record.registration_id).payload == {"n": 1}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def _version_2_store(root):
    """A store as Crystallize wrote it before runs recorded their artifact version."""
    from crystallize.store.sqlite_schema import SCHEMA

    root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(root / DB_FILENAME)
    for statement in SCHEMA:
        conn.execute(statement.replace("parent_run   TEXT,\n        artifact_version INTEGER", "parent_run   TEXT"))
    assert "artifact_version" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    conn.execute(
        "INSERT INTO runs VALUES ('oldrun', 'exp', 'fp', '{}', 'completed', 3, '[\"baseline\"]', "
        "'7', 1.0, 2.0, 2.0, 1, 'h', NULL, '[]', NULL)"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def test_version_2_store_opens_and_its_runs_have_no_artifact_version(tmp_path):
    _version_2_store(tmp_path)
    with open_store(tmp_path) as store:
        [old] = store.list_runs()
        assert (old.run_id, old.artifact_version, old.base_seed) == ("oldrun", None, 7)
        new = new_run(store, artifact_version=4)
        assert new.artifact_version == 4
        assert store.get_run(new.run_id).artifact_version == 4
        reopened = store.reopen_run("oldrun", artifact_version=2)
        assert reopened.artifact_version == 2
        assert store.reopen_run("oldrun", artifact_version=5).artifact_version == 2  # kept
    assert sqlite3.connect(tmp_path / DB_FILENAME).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_corrupt_json_in_a_run_names_the_run_and_column_and_list_runs_keeps_going(tmp_path, caplog):
    with open_store(tmp_path) as store:
        good = new_run(store, experiment="good")
        bad = new_run(store, experiment="bad")
    raw_update(tmp_path / DB_FILENAME, "UPDATE runs SET spec = '{oops' WHERE run_id = ?", (bad.run_id,))
    with open_store(tmp_path) as store:
        listed = {run.run_id: run for run in store.list_runs()}
        assert listed[good.run_id].spec == {"steps": ["a", "b"], "params": {"lr": 0.1}}
        broken = listed[bad.run_id]
        assert broken.spec == {} and broken.experiment == "bad"
        assert any(f"Run {bad.run_id}: column 'spec' holds corrupt JSON" in w for w in broken.warnings)
        assert f"Run {bad.run_id}: column 'spec' holds corrupt JSON" in caplog.text
        store.list_runs()  # listed again (a command does, several times): no second warning
        assert caplog.text.count(f"Run {bad.run_id}: column 'spec' holds corrupt JSON") == 1
        with pytest.raises(SerializationError, match=rf"Run {bad.run_id}: column 'spec' holds corrupt JSON"):
            store.get_run(bad.run_id)


def test_a_database_path_that_is_a_directory_says_so(tmp_path):
    from crystallize.store import list_runs

    (tmp_path / DB_FILENAME).mkdir()
    for opening in (open_store, list_runs):
        with pytest.raises(StoreError, match=rf"{DB_FILENAME}' is a directory, not a database file"):
            opening(tmp_path)


@pytest.mark.parametrize("where", ["afile", "afile/sub"])
def test_a_data_directory_that_is_a_file_says_so(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match=r"'.*afile' is a file, not a directory") as raised:
        open_store(tmp_path / where)
    assert "Errno" not in str(raised.value)


def test_reopening_a_run_another_live_process_holds_is_refused_atomically(store):
    from crystallize.store import RunInProgressError

    run = new_run(store)
    store.finish_run(run.run_id, "interrupted")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # Another process claimed the run between our liveness check and our claim.
        raw_update(store.path, "UPDATE runs SET status='running', pid=?, heartbeat_at=? WHERE run_id=?",
                   (other.pid, time.time(), run.run_id))
        with pytest.raises(RunInProgressError, match=f"process {other.pid}"):
            store.reopen_run(run.run_id)
        assert store.get_run(run.run_id).pid == other.pid  # left as the other process has it
    finally:
        other.kill()
        other.wait()
    assert store.reopen_run(run.run_id).pid == os.getpid()  # its driver is gone: taken over
