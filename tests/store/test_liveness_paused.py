"""A driver that is alive on this host keeps its run, however old its heartbeat (stopped
with Ctrl+Z, or seen from a process whose clock jumped forward): the run is not marked
interrupted, deleted or taken over. A process that only reuses a dead driver's pid does
not keep the run alive."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import StoreError
from crystallize.store import RunInProgressError, delete_runs, list_runs, liveness, open_store

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads process start times from /proc"
)


@data_source
def one(ctx):
    return 1.0


@pipeline_step()
def work(data, ctx):
    ctx.metrics.add("y", data)
    return data


def build() -> Experiment:
    return Experiment(
        datasource=one(), pipeline=Pipeline([work()]), replicates=2, name="live",
        plugins=[ArtifactPlugin(root_dir="data")],
    )


@pytest.fixture
def stopped_driver():
    """A process stopped as Ctrl+Z stops it (SIGSTOP), killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc.send_signal(signal.SIGSTOP)
    yield proc
    proc.kill()
    proc.wait()


def _driven_by(run_id: str, pid: int, *, heartbeat_at: float | None = None) -> None:
    """Make ``pid`` the driver of run ``run_id``, ``running``, its last heartbeat at
    ``heartbeat_at`` (default: now)."""
    with sqlite3.connect("data/crystallize.db") as conn:
        conn.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, pid = ?, heartbeat_at = ? WHERE run_id = ?",
            (pid, time.time() if heartbeat_at is None else heartbeat_at, run_id),
        )
    conn.close()


def _later(monkeypatch, seconds: float = 300.0) -> None:
    """Move the clock on ``seconds`` past the heartbeats written so far (a driver
    stopped for five minutes)."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def _silent_driver(stopped_driver, monkeypatch) -> str:
    """A run whose driver (alive, stopped) wrote its last heartbeat 300 s ago."""
    run_id = build().run().run_id
    _driven_by(run_id, stopped_driver.pid)  # a heartbeat it wrote: it was alive then
    _later(monkeypatch)
    return run_id


def test_a_stopped_driver_keeps_its_run_running(stopped_driver, monkeypatch):
    run_id = _silent_driver(stopped_driver, monkeypatch)
    (run,) = list_runs("data", "live")  # the store marks dead runs when opened
    assert run.run_id == run_id and run.status == "running"
    with open_store("data") as store:
        assert store.mark_stale_runs() == []


def test_a_stopped_drivers_run_is_not_deleted(stopped_driver, monkeypatch):
    run_id = _silent_driver(stopped_driver, monkeypatch)
    with pytest.raises(StoreError, match=f"still running in process {stopped_driver.pid}"):
        delete_runs("data", "live", keep_last=0)
    assert [run.run_id for run in list_runs("data", "live")] == [run_id]


def test_a_stopped_drivers_run_is_not_taken_over(stopped_driver, monkeypatch):
    run_id = _silent_driver(stopped_driver, monkeypatch)
    with pytest.raises(RunInProgressError, match=f"process {stopped_driver.pid}"):
        build().run(strategy="resume")
    with open_store("data") as store:
        with pytest.raises(RunInProgressError):
            store.reopen_run(run_id)
        assert store.get_run(run_id).pid == stopped_driver.pid


def test_a_stopped_driver_of_a_resumed_run_keeps_it(stopped_driver, monkeypatch):
    """A resume's driver started long after the run did: what shows it is the driver is
    that it was alive when it last wrote the run's heartbeat."""
    run_id = build().run().run_id
    _driven_by(run_id, stopped_driver.pid)
    with sqlite3.connect("data/crystallize.db") as conn:  # the run began an hour before
        conn.execute("UPDATE runs SET started_at = started_at - 3600 WHERE run_id = ?", (run_id,))
    conn.close()
    _later(monkeypatch)
    (run,) = list_runs("data", "live")
    assert run.status == "running"
    with pytest.raises(RunInProgressError):
        build().run(strategy="resume")


def test_a_process_that_started_after_the_last_heartbeat_is_not_the_driver(stopped_driver):
    """The driver died long ago and its pid now names another process: the heartbeat
    decides, so the run is marked interrupted and can be resumed."""
    run_id = build().run().run_id
    _driven_by(run_id, stopped_driver.pid, heartbeat_at=time.time() - 3600)
    (run,) = list_runs("data", "live")
    assert run.status == "interrupted" and "no heartbeat" in run.warnings[-1]
    assert build().run(strategy="resume").run_id == run_id


def test_where_start_times_cannot_be_read_the_heartbeat_decides(stopped_driver, monkeypatch):
    monkeypatch.setattr(liveness, "process_start_time", lambda pid: None)
    _silent_driver(stopped_driver, monkeypatch)
    (run,) = list_runs("data", "live")
    assert run.status == "interrupted"


def test_a_fresh_heartbeat_needs_no_start_time(stopped_driver, monkeypatch):
    monkeypatch.setattr(liveness, "process_start_time", lambda pid: None)
    run_id = build().run().run_id
    _driven_by(run_id, stopped_driver.pid)
    assert list_runs("data", "live")[0].status == "running"


def test_process_start_time_reads_this_process():
    started = liveness.process_start_time(subprocess.os.getpid())
    assert started is not None and started <= time.time()
    assert liveness.process_start_time(2**22 + 12345) is None  # no such process


def test_a_driver_that_ended_unreaped_is_not_alive():
    """A zombie (a dead child its parent has not waited for) has no start time: the
    heartbeat decides about its run."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(200):
            with open(f"/proc/{proc.pid}/stat", "rb") as file:
                if file.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    break
            time.sleep(0.01)
        assert liveness.process_start_time(proc.pid) is None
    finally:
        proc.wait()
