"""A thread-execution run stopped early (Ctrl+C, an error) leaves its worker threads to
finish the replicate each is running; they draw from the global generators, so the run
puts the caller's generators back only once those threads have ended. A second Ctrl+C
stops that wait; a stream closed by its consumer, a custom ``seed_fn`` (nothing kept)
and the ``crystallize`` command (it ends the process) do not wait."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time

import pytest

from crystallize import (
    Experiment,
    ParallelExecution,
    Pipeline,
    RunFailedError,
    SeedPlugin,
    data_source,
    pipeline_step,
    run_sharing,
)

np = pytest.importorskip("numpy")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # threads share the global RNGs

started: list[int] = []  # replicates past their start (in worker threads)
finished: list[int] = []  # replicates that drew and ended


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def draw_late(data, ctx, *, pause=0.3, stop=True, failing=False):
    if stop and data == 0:
        deadline = time.monotonic() + 10
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        if failing:
            raise ValueError("stops a fail_fast run while replicates 1 and 2 are running")
        raise KeyboardInterrupt  # stops the run while replicates 1 and 2 are running
    started.append(data)
    time.sleep(pause)
    value = random.random() + float(np.random.rand())  # after the run has stopped
    finished.append(data)
    return data, {"value": value}


def _experiment(pause=0.3, stop=True, seed_fn=None, replicates=3, failing=False) -> Experiment:
    return Experiment(
        datasource=replicate_number(),
        pipeline=Pipeline([draw_late(pause=pause, stop=stop, failing=failing)]),
        replicates=replicates,
        name="late_draws",
        plugins=[
            SeedPlugin(seed=5, seed_fn=seed_fn),
            ParallelExecution(max_workers=3, executor_type="thread"),
        ],
    )


def _first_draws(seed: int) -> tuple[float, float]:
    random.seed(seed)
    np.random.seed(seed)
    return random.random(), float(np.random.rand())


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def _wait_for_worker_threads(seconds: float = 10.0) -> None:
    """Until the pool's worker threads (``crystallize_<n>``) have all ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name.startswith("crystallize_")]:
            return
        time.sleep(0.01)
    raise AssertionError("worker threads still running")


@pytest.fixture(autouse=True)
def _fresh():
    started.clear()
    finished.clear()
    yield
    _wait_for_worker_threads()  # no thread of one test drawing in the next


def test_ctrl_c_puts_the_callers_generators_back_after_the_threads_in_flight_end():
    expected = _first_draws(0)
    _seed(0)
    with pytest.raises(KeyboardInterrupt):
        _experiment().run()
    _wait_for_worker_threads()
    assert sorted(finished) == [1, 2]
    assert (random.random(), float(np.random.rand())) == expected


def test_an_error_puts_them_back_after_the_threads_in_flight_end():
    expected = _first_draws(0)
    _seed(0)
    with pytest.raises(RunFailedError):
        _experiment(failing=True).run(fail_fast=True)
    _wait_for_worker_threads()
    assert sorted(finished) == [1, 2]
    assert (random.random(), float(np.random.rand())) == expected


def test_a_stream_its_consumer_closes_goes_on_at_once():
    """As documented (and tested with the replicates in flight): the threads finishing
    their replicates may then move the caller's generators."""
    stream = _experiment(pause=1.5, stop=False, replicates=9).stream()
    records = iter(stream)
    next(records)
    began = time.monotonic()
    stream.close()
    assert time.monotonic() - began < 1.0


def test_the_wait_is_announced_when_it_lasts(monkeypatch, caplog):
    monkeypatch.setattr(run_sharing, "WAIT_NOTICE_SECONDS", 0.0)
    with pytest.raises(KeyboardInterrupt):
        _experiment().run()
    assert "waiting for the 2 replicate(s) still running in worker threads" in caplog.text
    assert "Press Ctrl+C to stop waiting" in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="raises SIGINT in this process")
def test_a_second_ctrl_c_stops_waiting_and_puts_them_back_at_once():
    _seed(0)
    expected = (random.getstate(), np.random.get_state()[1].tolist())
    timer = threading.Timer(0.5, signal.raise_signal, (signal.SIGINT,))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _experiment(pause=3.0).run()
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.5  # not after the replicates in flight (3 s)
    assert finished == []
    assert (random.getstate(), np.random.get_state()[1].tolist()) == expected


def _leave_alone(seed):
    return None


def test_no_wait_when_the_generators_are_left_to_the_user():
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _experiment(pause=1.5, seed_fn=_leave_alone).run()
    assert time.monotonic() - started < 1.2
    assert finished == []


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="installs signal handlers")
def test_no_wait_under_the_crystallize_command_which_ends_the_process():
    from crystallize.cli.main import StopSignals

    signals = StopSignals()
    signals.install()
    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            _experiment(pause=1.5).run()
        assert time.monotonic() - started < 1.2
        assert finished == []
    finally:
        signals.restore()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="installs signal handlers")
def test_an_error_still_waits_under_the_command_which_only_skips_for_interrupts():
    from crystallize.cli.main import StopSignals

    signals = StopSignals()
    signals.install()  # the terminal UI installs it too, and goes on after a failed run
    try:
        expected = _first_draws(0)
        _seed(0)
        with pytest.raises(RunFailedError):
            _experiment(failing=True).run(fail_fast=True)
        assert sorted(finished) == [1, 2]  # waited for, before the generators were put back
        assert (random.random(), float(np.random.rand())) == expected
    finally:
        signals.restore()
