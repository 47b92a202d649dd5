"""A process that runs many experiments (a server, a notebook) does not accumulate
resources: store connections of finished threads, step functions and what they capture.
A script that ends with a stream left suspended exits promptly, its run cancelled."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.store import list_runs
from crystallize.store.sqlite import SQLiteRunStore


@data_source
def draws(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def mean(data):
    return data, {"mean": sum(data) / len(data)}


def _db_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += "crystallize.db" in os.readlink(f"/proc/self/fd/{fd}")
    return count


def _run_in_new_thread() -> None:
    failures: list[BaseException] = []

    def request() -> None:
        try:
            Experiment(datasource=draws(), pipeline=Pipeline([mean()]), replicates=2, name="svc").run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    assert not failures, failures


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_runs_from_short_lived_threads_do_not_keep_connections_open():
    _run_in_new_thread()
    before = _db_fds()
    for _ in range(30):
        _run_in_new_thread()
    assert _db_fds() <= before + 2  # one thread's connection (database + WAL) at most
    assert len(list_runs("data", "svc")) == 31


def test_threads_that_stay_alive_keep_their_connections(tmp_path):
    store = SQLiteRunStore(tmp_path / "crystallize.db")
    try:
        first = store._connection()
        opened, go_on, reused = threading.Event(), threading.Event(), []

        def worker() -> None:
            conn = store._connection()
            opened.set()
            go_on.wait(5)
            reused.append(store._connection() is conn and conn.execute("SELECT 1").fetchone() == (1,))

        alive = threading.Thread(target=worker)
        alive.start()
        opened.wait(5)
        for _ in range(3):  # short-lived threads come and go meanwhile
            thread = threading.Thread(target=store.list_runs)
            thread.start()
            thread.join()
        go_on.set()
        alive.join()
        assert reused == [True]
        assert store._connection() is first  # the main thread's connection is reused
    finally:
        store.close()


def test_too_many_open_files_is_named(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, resource
        from crystallize.exceptions import StoreError
        from crystallize.store.sqlite import SQLiteRunStore
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        try:
            SQLiteRunStore({str(tmp_path / "crystallize.db")!r})
        except StoreError as exc:
            print(exc)
        """
    )
    pytest.importorskip("resource")  # POSIX only
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "too many open files" in out.lower(), out
    assert "Check that the directory exists" not in out


def test_validating_does_not_keep_step_functions_or_what_they_capture():
    class Big:
        pass

    alive = []
    for _ in range(20):  # a notebook cell re-run: a new closure over a new object each time
        model = Big()
        alive.append(weakref.ref(model))

        @pipeline_step()
        def predict(data, ctx, model=model):
            return data, {"score": ctx.get("scale", 1) * float(model is not None)}

        Experiment(
            datasource=draws(), pipeline=Pipeline([predict()]), treatments=[treatment("big", {"scale": 2})]
        ).validate()
        del model, predict
    gc.collect()
    assert sum(ref() is not None for ref in alive) == 0


def test_validating_closures_does_not_keep_what_they_capture():
    class Big:
        pass

    alive = []

    def cell():
        model = Big()
        alive.append(weakref.ref(model))

        @pipeline_step()
        def predict(data, ctx):
            return data, {"score": ctx.get("scale", 1) * float(model is not None)}

        @data_source
        def source(ctx):
            return [float(model is not None)]

        Experiment(
            datasource=source(), pipeline=Pipeline([predict()]), treatments=[treatment("big", {"scale": 2})]
        ).validate()

    for _ in range(20):
        cell()
    gc.collect()
    assert sum(ref() is not None for ref in alive) == 0


ABANDONED = """
import sys, time
from crystallize import Experiment, ParallelExecution, Pipeline, data_source, pipeline_step

@data_source
def draws(ctx):
    return [1.0]

@pipeline_step()
def slow(data, ctx):
    time.sleep(0.5)
    return data, {{"mean": 1.0}}

exp = Experiment(datasource=draws(), pipeline=Pipeline([slow()]), replicates=40, name="abandoned",
                 plugins=[{plugin}])
it = iter(exp.stream())
first = next(it)
print("END", time.time(), flush=True)
"""


@pytest.mark.parametrize(
    "plugin",
    [
        "ParallelExecution(max_workers=2, executor_type='thread')",
        "ParallelExecution(max_workers=2, executor_type='process')",
    ],
    ids=["thread", "process"],
)
def test_a_stream_left_suspended_at_exit_stops_and_is_cancelled(plugin):
    script = ABANDONED.format(plugin=plugin)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    exited = time.time()
    assert proc.returncode == 0, proc.stderr
    ended = float(proc.stdout.split()[-1])
    # waiting for every replicate would take about 40 × 0.5 s / 2 workers
    assert exited - ended < 4, f"exit took {exited - ended:.1f} s after the script ended"
    assert "Exception ignored" not in proc.stderr, proc.stderr
    (run,) = list_runs(Path("data"), "abandoned")
    assert run.status == "cancelled"
    assert 1 <= run.n_records < 40
