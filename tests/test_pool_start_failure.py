"""A process pool that cannot start its workers (out of file descriptors, in
particular) fails the run with an error saying what to do, and the program then exits:
the workers that did start are stopped, so nothing waits for them at exit."""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import multiprocessing.managers
import multiprocessing.process
import os
import pickle
import resource
import signal
import subprocess
import sys
import time

import pytest

from crystallize import (
    BasePlugin,
    CrystallizeError,
    Experiment,
    ParallelExecution,
    Pipeline,
    WorkerStartError,
    data_source,
    pipeline_step,
)
from crystallize.plugins.execution import parallel

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="POSIX: RLIMIT_NOFILE, reads /proc")

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


@data_source
def one(ctx):
    return 1


@pipeline_step()
def square(data, ctx):
    return data, {"x": float(ctx["replicate"]) ** 2}


STEPS = """\
from crystallize import data_source, pipeline_step


@data_source
def numbers(ctx):
    return 1


@pipeline_step()
def square(data, ctx):
    return data, {"x": float(ctx["replicate"]) ** 2}
"""

DRIVER = """\
import concurrent.futures
import multiprocessing
import os
import pickle
import resource
import sys

from crystallize import Experiment, ParallelExecution, Pipeline
from fd_steps import numbers, square

create = concurrent.futures.ProcessPoolExecutor.__init__


def create_then_limit(pool, *args, **kwargs):
    \"\"\"Once the pool exists, leave room for only a few more open files: some workers
    start, then starting the next one fails with EMFILE.\"\"\"
    create(pool, *args, **kwargs)
    used = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 6, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    concurrent.futures.ProcessPoolExecutor.__init__ = create_then_limit
    experiment = Experiment(
        datasource=numbers(), pipeline=Pipeline([square()]), replicates=32, name="fds",
        plugins=[ParallelExecution(max_workers=16, executor_type="process")],
    )
    try:
        experiment.run()
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", flush=True)
"""

CONFIG = """\
name: fds
replicates: 100
datasource: numbers
steps:
  - square
"""


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """``proc``'s output once it exits; fails the test (killing its process group) if it
    has not exited within ``timeout`` seconds."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the process did not exit: {out}{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("method", METHODS)
def test_running_out_of_file_descriptors_while_workers_start_fails_clearly_and_exits(tmp_path, method):
    (tmp_path / "fd_steps.py").write_text(STEPS, encoding="utf-8")
    (tmp_path / "fd_driver.py").write_text(DRIVER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "fd_driver.py", method], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    started = time.monotonic()
    out, err = finish(proc, timeout=40)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 30
    assert out.startswith("WorkerStartError: The process pool could not start its 16 worker processes"), out
    assert "Too many open files" in out and "`ulimit -n`" in out, out
    assert "max_workers" in out and "--workers" in out, out


def test_the_command_reports_running_out_of_file_descriptors_as_a_user_error_and_exits(tmp_path):
    folder = tmp_path / "experiments" / "fds"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (folder / "datasources.py").write_text(STEPS, encoding="utf-8")
    (folder / "steps.py").write_text(STEPS, encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": "", "COLUMNS": "200"}

    def low_limit() -> None:  # in the command's process, before it starts
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    proc = subprocess.Popen(
        [sys.executable, "-m", "crystallize.cli", "run", "fds", "--executor", "process", "--workers", "100"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=low_limit,
    )
    out, err = finish(proc, timeout=60)
    assert proc.returncode == 2, (out, err)
    message = " ".join(err.split())
    assert "Error: The process pool could not start its 100 worker processes" in message, err
    assert "unexpected" not in message and "Traceback" not in message, err
    assert "`ulimit -n`, now 64" in message and "--workers" in message, err


@pytest.fixture
def second_start_fails(monkeypatch):
    """Processes start normally once; every later start raises EMFILE. Yields the
    processes that started (stopped at the end whatever happens)."""
    started = []
    start = multiprocessing.process.BaseProcess.start

    def start_once(process):
        if started:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        start(process)
        started.append(process)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start_once)
    yield started
    for process in started:
        if process.is_alive():
            process.kill()
            process.join()


def test_workers_started_before_the_failure_are_stopped(second_start_fails):
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([square()]), replicates=8,
        plugins=[ParallelExecution(max_workers=4, executor_type="process")],
    )
    with pytest.raises(WorkerStartError) as raised:
        experiment.run()
    assert str(raised.value).startswith("The process pool could not start its 4 worker processes (1 started)")
    assert isinstance(raised.value, CrystallizeError)
    assert raised.value.errno == errno.EMFILE and isinstance(raised.value.__cause__, OSError)
    [worker] = second_start_fails
    assert worker.exitcode is not None  # stopped and joined: nothing waits for it at exit


def test_a_replicate_run_alone_that_cannot_start_gets_the_same_error(second_start_fails):
    payload = pickle.dumps(abs)  # each process would run abs(replicate)
    with pytest.raises(CrystallizeError, match=r"could not start its 2 worker processes \(1 started\)"):
        for _ in parallel.run_alone(payload, abs, [0, 1], workers=2):
            pass
    [worker] = second_start_fails
    assert worker.exitcode is not None



class Listener(BasePlugin):
    """Listens to live events: a process run starts a Manager process to relay them."""

    def on_event(self, experiment, ctx, event, payload):
        pass


def test_the_event_relay_process_that_cannot_start_gets_the_same_error(monkeypatch):
    def out_of_files(manager, *args, **kwargs):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(multiprocessing.managers.BaseManager, "start", out_of_files)
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([square()]), replicates=8,
        plugins=[Listener(), ParallelExecution(max_workers=4, executor_type="process")],
    )
    with pytest.raises(CrystallizeError, match=r"could not start its 4 worker processes \(0 started\)"):
        experiment.run()
