"""ParallelExecution: replicates on a thread or process pool."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.events import QueueSink, drain
from crystallize.exceptions import PicklingError
from crystallize.plugins.execution.base import ExecutionPlugin

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from crystallize.experiment import Experiment

EXECUTOR_TYPES = ("thread", "process")

# The replicate function installed in each worker process by the pool initializer,
# or the reason it could not be installed (reported by the first task), and where the
# worker notes which replicate of each batch it is running (read if the worker dies).
_worker_fn: Callable[[int], Any] | None = None
_install_error: str | None = None
_progress: Any = None


#: How often a worker process checks that the process that started it is still there (seconds).
PARENT_POLL_INTERVAL = 0.5


def exit_with_parent(parent: int) -> None:
    """Make this (worker) process end once ``parent``, the driver that started it, is gone.

    A driver killed without cleaning up (``kill -9``, or SIGTERM with Python's default
    handling) would otherwise leave its pool workers and event Manager running, holding
    the store's files open. A daemon thread compares ``os.getppid()`` with ``parent``
    every :data:`PARENT_POLL_INTERVAL` seconds and calls ``os._exit`` when they differ
    (the process was handed to init: also when the driver died before this started).
    Where parents do not change (Windows), it never fires.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="crystallize-parent-watch", daemon=True).start()


def _install(payload: bytes, progress: Any, driver: int) -> None:
    global _worker_fn, _install_error, _progress
    import pickle

    exit_with_parent(driver)
    _progress = progress
    try:
        _worker_fn = pickle.loads(payload)
    except Exception as exc:  # reported by _run_batch: a raising initializer breaks the pool
        _install_error = f"{type(exc).__name__}: {exc}"


def _run_batch(index: int, replicates: Sequence[int]) -> list[Any]:
    if _worker_fn is None:
        raise PicklingError(
            "A worker process could not load the experiment sent to it "
            f"({_install_error}). Make sure steps, datasources and the modules they live in "
            "can be imported by worker processes."
        )
    progress = _progress
    results = []
    for position, rep in enumerate(replicates, start=1):
        progress[index] = position  # shared with the driver: names the culprit if we die
        results.append(_worker_fn(rep))
    return results


def batches(replicates: Sequence[int], workers: int) -> list[list[int]]:
    """Split replicate indices into about four batches per worker, so IPC stays small
    next to the work while the load still balances."""
    replicates = list(replicates)
    size = max(1, math.ceil(len(replicates) / (workers * 4)))
    return [replicates[i : i + size] for i in range(0, len(replicates), size)]


class ParallelExecution(ExecutionPlugin):
    """Run replicates concurrently on a thread or process pool.

    Args:
        max_workers: pool size; defaults to the number of CPUs.
        executor_type: ``"thread"`` for IO-bound steps (the GIL is shared; global RNGs too,
            so seeded runs may not reproduce) or ``"process"`` for CPU-bound steps
            (everything sent to workers must pickle: define steps and datasources at
            module scope and wrap unpicklable resources with ``resource_factory``).

    One pool serves every condition of a run. Process workers receive the replicate
    function once, then small batches of replicate indices. Worker processes end by
    themselves (within :data:`PARENT_POLL_INTERVAL`) when the process that started them
    dies. When a worker process dies, the replicates it was running are re-run alone in
    fresh processes: one that dies again is recorded as failed, and the rest of the run
    goes on in a new pool.
    """

    def __init__(self, max_workers: int | None = None, executor_type: str = "thread") -> None:
        if executor_type not in EXECUTOR_TYPES:
            raise ValueError(
                f"executor_type must be 'thread' or 'process', got {executor_type!r} "
                "(use AsyncExecution for async steps, RayExecution for a cluster)"
            )
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ValueError(f"max_workers must be a positive int or None, got {max_workers!r}")
        self.max_workers = max_workers
        self.executor_type = executor_type

    def before_run(self, experiment: Experiment) -> None:
        """With processes: refuse, before the run is stored, what cannot be pickled."""
        if self.executor_type == "process":
            check_picklable(experiment)

    @property
    def workers(self) -> int:
        """The pool size actually used."""
        return self.max_workers or os.cpu_count() or 1

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield each replicate's records as they finish (see :meth:`ExecutionPlugin.iter_results`)."""
        if self.executor_type == "thread":
            yield from self._iter_threads(replicate_fn, replicates)
        else:
            yield from self._iter_processes(experiment, replicate_fn, replicates)

    def _iter_threads(self, replicate_fn: Callable[[int], Any], replicates: Sequence[int]) -> Iterator[Any]:
        import queue
        from concurrent.futures import ThreadPoolExecutor

        events = queue.Queue() if wants_events(replicate_fn) else None
        if events is not None:
            replicate_fn = replicate_fn.with_event_sink(QueueSink(events))
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="crystallize")
        try:  # _as_completed shuts the pool down: waiting for it, or not when stopped early
            futures = {pool.submit(replicate_fn, rep) for rep in replicates}
            yield from _as_completed(pool, futures, _one_result, events=events)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _iter_processes(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        with contextlib.ExitStack() as stack:
            events = None
            if wants_events(replicate_fn):
                from multiprocessing.managers import SyncManager

                manager = SyncManager()
                manager.start(exit_with_parent, (os.getpid(),))  # its server process too
                events = stack.enter_context(manager).Queue()
                replicate_fn = replicate_fn.with_event_sink(QueueSink(events))
            payload = pickle_for_workers(experiment, replicate_fn)
            todo = list(replicates)
            while todo:  # more than one round only after a worker process died
                suspects, todo = yield from self._pool_round(payload, todo, events)
                for results in run_alone(payload, replicate_fn, suspects, self.workers):
                    yield from results
                    if events is not None:
                        yield from drain(events)

    def _pool_round(
        self, payload: bytes, replicates: list[int], events: Any
    ) -> Generator[Any, None, tuple[list[int], list[int]]]:
        """Run ``replicates`` on a fresh pool, yielding results. Returns ``([], [])``, or
        when a worker died, the replicates that were running in dead or broken workers
        (suspects) and the ones that must still run (their results were lost)."""
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing.sharedctypes import RawArray

        chunks = batches(replicates, self.workers)
        progress = RawArray("i", len(chunks))
        broken: list[int] = []

        def unpack(future: Future) -> list[Any]:
            try:
                return future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                return []

        workers = min(self.workers, len(chunks)) or 1
        pool = ProcessPoolExecutor(workers, initializer=_install, initargs=(payload, progress, os.getpid()))
        try:  # _as_completed shuts the pool down: waiting for it, or not when stopped early
            futures = {pool.submit(_run_batch, i, chunk): i for i, chunk in enumerate(chunks)}
            yield from _as_completed(pool, futures, unpack, events=events)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        suspects: list[int] = []
        rest: list[int] = []
        for index in sorted(broken):
            chunk, started = chunks[index], progress[index]
            if started:
                suspects.append(chunk[started - 1])
                rest += chunk[: started - 1]
            rest += chunk[started:]
        if broken and not suspects:
            raise RuntimeError(
                "Worker processes died before running any replicate (killed, out of memory, "
                "or crashed while loading the experiment); finished replicates are kept. "
                "Re-run with strategy='resume' to finish the rest."
            )
        return suspects, rest


def run_alone(
    payload: bytes, replicate_fn: Callable[[int], Any], replicates: list[int], workers: int
) -> Iterator[list[Any]]:
    """Run each of ``replicates`` in a process of its own, ``workers`` at a time (after
    their pool broke), yielding each one's results in order.

    A replicate whose process dies too gets failed records naming how.
    """
    import multiprocessing

    context = multiprocessing.get_context()
    for first in range(0, len(replicates), max(1, workers)):
        started = []
        try:
            for replicate in replicates[first : first + max(1, workers)]:
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_alone, args=(payload, replicate, send, os.getpid()))
                process.start()
                send.close()
                started.append((replicate, process, receive))
            for replicate, process, receive in started:
                yield _outcome_of(replicate_fn, replicate, process, receive)
        finally:  # Ctrl+C or an error: no process outlives the run
            for _, process, receive in started:
                receive.close()
                if process.is_alive():
                    process.kill()
                process.join()


def _outcome_of(replicate_fn: Callable[[int], Any], replicate: int, process: Any, receive: Any) -> list[Any]:
    """The results a lone replicate's process sends back, or failed records if it died."""
    try:
        outcome = receive.recv()
    except EOFError:  # the process died before sending anything back
        outcome = None
    if outcome is None:
        process.join()
        return replicate_fn.failed_records(replicate, death_reason(process.exitcode), "WorkerDied")
    ok, value = outcome
    if not ok:
        raise value
    return value


def _alone(payload: bytes, replicate: int, conn: Any, driver: int) -> None:
    _install(payload, [0], driver)
    try:
        outcome = (True, _run_batch(0, [replicate]))
    except BaseException as exc:  # KeyboardInterrupt too: the driver raises it, as from a pool
        outcome = (False, exc)
    try:
        conn.send(outcome)
    except Exception as exc:  # an exception that does not pickle
        conn.send((False, RuntimeError(repr(outcome[1]) if not outcome[0] else repr(exc))))
    conn.close()


def death_reason(exitcode: int | None) -> str:
    """Why a replicate is recorded as failed after its worker died running it, alone too."""
    import signal

    if exitcode is None:
        how = "exit status unknown"
    elif exitcode < 0:
        try:
            how = f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return (
        f"the process running this replicate died ({how}) when it was run alone in a fresh "
        "process, after its worker pool broke. Something it runs ends the process: os._exit(), "
        "a crash in native code, or the system killing it (SIGKILL often means out of "
        "memory). Fix that, then run again with strategy='resume' to finish this replicate."
    )


def wants_events(replicate_fn: Any) -> bool:
    """True when the driver listens to live events from this replicate function."""
    return getattr(replicate_fn, "event_sink", None) is not None and hasattr(replicate_fn, "with_event_sink")


#: How often executors look for live events while replicates run (seconds).
EVENT_POLL_INTERVAL = 0.05


def _as_completed(
    pool: Executor,
    futures: Iterable[Future],
    unpack: Callable[[Future], Iterable[Any]],
    events: Any = None,
) -> Iterator[Any]:
    """Yield ``unpack(future)``'s items as futures finish (and live events as they come,
    when ``events`` is a queue).

    Stopped early (Ctrl+C, an error, a consumer that stops reading), it does not wait for
    the replicates in flight, whose results would be thrown away: what has not started is
    cancelled, worker processes are stopped, and worker threads finish their current
    replicate in the background.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    timeout = EVENT_POLL_INTERVAL if events is not None else None
    try:
        while pending:
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if events is not None:
                yield from drain(events)
            for future in done:
                yield from unpack(future)
        if events is not None:
            yield from drain(events)
    finally:
        if not pending:
            pool.shutdown(wait=True)
        elif not _stop_workers(pool):  # threads: what has not started is cancelled
            for future in pending:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
        else:  # the pool breaks by itself and fails what is left (cancelling races that)
            pool.shutdown(wait=False)


def _stop_workers(pool: Executor) -> bool:
    """Terminate a process pool's workers now; ``False`` for a thread pool (a thread
    cannot be stopped: it finishes its replicate alone, and its result is dropped)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    return bool(processes)


def _one_result(future: Future) -> tuple[Any]:
    return (future.result(),)


def pickle_for_workers(
    experiment: Experiment,
    replicate_fn: Callable[[int], Any],
    dumps: Callable[[Any], bytes] | None = None,
) -> bytes:
    """Pickle ``replicate_fn`` (with ``dumps``, default :func:`pickle.dumps`); on failure,
    name the piece that cannot be pickled."""
    import pickle

    try:
        if dumps is not None:
            return dumps(replicate_fn)
        return pickle.dumps(replicate_fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        found = _first_unpicklable(experiment)
        raise _pickling_error(found[0] if found else None, exc) from exc


def check_picklable(experiment: Experiment) -> None:
    """Raise :class:`PicklingError` naming the first part of ``experiment`` that worker
    processes could not receive (called before a run is stored)."""
    found = _first_unpicklable(experiment)
    if found is not None:
        raise _pickling_error(*found) from found[1]


def _pickling_error(culprit: str | None, exc: Exception) -> PicklingError:
    return PicklingError(
        f"Process execution must send the experiment to worker processes, but "
        f"{culprit or 'part of it'} cannot be pickled ({type(exc).__name__}: {exc}). "
        "Define steps, datasources and the functions they use at module scope (not "
        "inside functions, lambdas or notebooks' closures), and wrap unpicklable objects "
        "such as connections with resource_factory(...) in initial_ctx."
    )


def find_unpicklable(experiment: Experiment) -> str | None:
    """Name the first part of ``experiment`` that does not pickle, or ``None``."""
    found = _first_unpicklable(experiment)
    return found[0] if found else None


def _first_unpicklable(experiment: Experiment) -> tuple[str, Exception] | None:
    import pickle

    candidates: list[tuple[str, Any]] = [("datasource " + _label(experiment.datasource), experiment.datasource)]
    steps = experiment.pipeline.steps if experiment.pipeline is not None else []
    candidates += [(f"step '{_label(step)}' (position {i})", step) for i, step in enumerate(steps)]
    candidates += [(f"context key '{key}' in initial_ctx", value) for key, value in experiment.initial_ctx.items()]
    candidates += [(f"treatment '{t.name}'", t) for t in experiment.treatments]
    candidates += [(f"plugin {type(p).__name__}", p) for p in experiment.worker_plugins()]
    for label, obj in candidates:
        try:
            pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return label, exc
    return None


def _label(obj: Any) -> str:
    return str(getattr(obj, "name", None) or type(obj).__name__)


__all__ = [
    "ParallelExecution",
    "batches",
    "check_picklable",
    "exit_with_parent",
    "find_unpicklable",
    "pickle_for_workers",
]
