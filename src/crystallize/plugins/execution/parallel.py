"""ParallelExecution: replicates on a thread or process pool."""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.events import QueueSink, drain
from crystallize.exceptions import ExperimentValidationError, PicklingError, WorkerStartError
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.payload import check_picklable, pack_results, pickle_for_workers
from crystallize.plugins.execution.process_start import (
    check_main_parts,
    died_early_message,
    forking,
    load_failed_message,
    main_advice,
    start_context,
    starting_processes,
    stop_processes,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from crystallize.experiment import Experiment

EXECUTOR_TYPES = ("thread", "process")

#: How many replicates a thread pool keeps queued or running per worker thread: the
#: rest are handed out as these finish, so each wait and the results held stay small.
THREAD_TASKS_PER_WORKER = 4

#: The most worker processes a process pool may have on Windows (a limit of the
#: standard library's ProcessPoolExecutor there); threads have no such limit.
WINDOWS_MAX_PROCESS_WORKERS = 61

# The replicate function installed in each worker process by the pool initializer,
# or the reason it could not be installed (reported by the first task) and the driver's
# advice for a name missing from __main__ (see main_advice), and where the worker notes
# which replicate of each batch it is running (read if the worker dies).
_worker_fn: Callable[[int], Any] | None = None
_install_error: str | None = None
_main_advice: str | None = None
_progress: Any = None


def exit_with_parent() -> None:
    """Make this (worker) process end as soon as the process that started it is gone.

    A driver killed without cleaning up (``kill -9``, or SIGTERM with Python's default
    handling) would otherwise leave its pool workers and event Manager running, holding
    the store's files open. A daemon thread waits on :mod:`multiprocessing`'s sentinel of
    the parent process (on POSIX a pipe whose write end the parent holds; under ``fork``,
    processes the parent started later hold copies too, and they end the same way) and
    calls ``os._exit`` once it fires, also when the driver died before this started. This
    works under every start method, ``fork``, ``spawn`` and ``forkserver`` (whose
    processes are children of the fork server, not of the driver). In a process not
    started by :mod:`multiprocessing` it does nothing.
    """
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="crystallize-parent-watch", daemon=True).start()


def event_queue(stack: contextlib.ExitStack) -> Any:
    """A queue on which worker processes put live events for the driver, served by a
    :class:`~multiprocessing.managers.SyncManager` process that ``stack`` stops.

    The manager is stopped with :func:`stop_processes`, never by its shutdown message,
    which waits for the manager to answer: when ``stack`` closes, and if that is cut
    short (a second Ctrl+C, a start interrupted half-way), at exit before
    :mod:`multiprocessing`'s own exit handlers, which would otherwise wait for the
    manager forever.
    """
    from multiprocessing import connection
    from multiprocessing.managers import SyncManager
    from multiprocessing.util import Finalize

    # Its socket goes in this process's temporary directory, removed at exit also when
    # the manager is killed.
    manager = SyncManager(address=connection.arbitrary_address(connection.default_family), ctx=start_context())
    at_exit = Finalize(None, _stop_manager, args=(manager,), exitpriority=100)
    stack.callback(_stop_manager, manager, at_exit)
    manager.start(exit_with_parent)  # its server process ends with the driver too
    return manager.Queue()


def _stop_manager(manager: Any, at_exit: Any = None) -> None:
    """Stop ``manager``'s server process (started or not), mark the manager shut down,
    then cancel ``at_exit``, the finalizer that would do it at exit."""
    process = getattr(manager, "_process", None)
    if process is not None and process.pid is not None:
        stop_processes([process])
        if process.is_alive():  # stuck in the kernel: its parent watch ends it later
            return
    shutdown = getattr(manager, "shutdown", None)  # set once the start finished
    if shutdown is not None:
        shutdown()  # bookkeeping only: its process is gone, so no message is sent
    if at_exit is not None:
        at_exit.cancel()


def _install(payload: bytes, progress: Any, main_advice: str | None = None) -> None:
    global _worker_fn, _install_error, _main_advice, _progress
    import pickle

    exit_with_parent()
    _progress = progress
    _main_advice = main_advice
    try:
        _worker_fn = pickle.loads(payload)
    except Exception as exc:  # reported by _run_batch: a raising initializer breaks the pool
        _install_error = f"{type(exc).__name__}: {exc}"


def _run_batch(index: int, replicates: Sequence[int]) -> tuple[float, bytes]:
    """Worker task: run ``replicates`` one after another; return the seconds they took
    and their results pickled (see :func:`pack_results`)."""
    import pickle
    from time import perf_counter

    if _worker_fn is None:
        raise PicklingError(load_failed_message(_install_error, _main_advice))
    progress = _progress
    results = []
    started = perf_counter()
    for position, rep in enumerate(replicates, start=1):
        progress[index] = position  # shared with the driver: names the culprit if we die
        results.append(_worker_fn(rep))
    seconds = perf_counter() - started
    return seconds, pack_results(results, functools.partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL))


#: About how long a batch of replicates runs in a worker process before its records go
#: back to the driver (seconds): replicates slower than this go one at a time.
BATCH_SECONDS = 0.1


def batches(replicates: Sequence[int], workers: int) -> list[list[int]]:
    """Split replicate indices into about four batches per worker: the largest batches
    :class:`Batcher` hands out, so the load still balances."""
    replicates = list(replicates)
    size = max(1, math.ceil(len(replicates) / (workers * 4)))
    return [replicates[i : i + size] for i in range(0, len(replicates), size)]


class Batcher:
    """Hands out the replicates of a process pool run in batches sized by how long
    replicates take.

    Until a batch has been timed, one replicate at a time; then as many as the last timed
    batch says run in about :data:`BATCH_SECONDS`, at least one and at most a batch of
    :func:`batches`. Fast replicates travel in batches, so IPC stays small next to the
    work; slow ones go alone, so each one's records come back (to ``stream()``, to the
    store before a Ctrl+C) as soon as it finishes.
    """

    def __init__(self, replicates: Iterable[int], workers: int) -> None:
        import collections

        self.todo = collections.deque(replicates)
        self.largest = len(batches(self.todo, workers)[0]) if self.todo else 1
        self.per_replicate: float | None = None

    def __bool__(self) -> bool:
        return bool(self.todo)

    def next(self) -> list[int]:
        """The next batch (empty when none is left)."""
        if self.per_replicate is None:
            size = 1
        elif self.per_replicate <= 0:
            size = self.largest
        else:
            size = min(self.largest, max(1, int(BATCH_SECONDS / self.per_replicate)))
        return [self.todo.popleft() for _ in range(min(size, len(self.todo)))]

    def timed(self, count: int, seconds: float) -> None:
        """Note that a batch of ``count`` replicates ran in ``seconds``."""
        if count:
            self.per_replicate = seconds / count

    def put_back(self, batch: list[int]) -> None:
        """Return a batch that could not be sent; it goes out first."""
        self.todo.extendleft(reversed(batch))


class ParallelExecution(ExecutionPlugin):
    """Run replicates concurrently on a thread or process pool.

    Args:
        max_workers: pool size; defaults to the number of CPUs (for processes on Windows,
            at most :data:`WINDOWS_MAX_PROCESS_WORKERS`, the most Windows allows: a
            larger ``max_workers`` is refused there).
        executor_type: ``"thread"`` for IO-bound steps (the GIL is shared; global RNGs too,
            so seeded runs may not reproduce) or ``"process"`` for CPU-bound steps
            (everything sent to workers must pickle: define steps and datasources at
            module scope and wrap unpicklable resources with ``resource_factory``).

    One pool serves every condition of a run. A thread pool keeps
    :data:`THREAD_TASKS_PER_WORKER` replicates per thread queued or running and hands
    out the next one as each finishes. Process workers receive the replicate
    function once, then replicate indices: one at a time, or in batches lasting about
    :data:`BATCH_SECONDS` when replicates are fast (see :class:`Batcher`). Any start
    method works (``fork``, ``spawn``, ``forkserver``). Worker processes end by
    themselves when the process that started them dies. When a worker process dies, the
    replicates it was running are re-run alone in fresh processes: one that dies again is
    recorded as failed, and the rest of the run goes on in a new pool.
    """

    def __init__(self, max_workers: int | None = None, executor_type: str = "thread") -> None:
        if executor_type not in EXECUTOR_TYPES:
            raise ValueError(
                f"executor_type must be 'thread' or 'process', got {executor_type!r} "
                "(use AsyncExecution for async steps, RayExecution for a cluster)"
            )
        if max_workers is not None:
            from crystallize.experiment_checks import _as_count

            count = _as_count(max_workers)  # NumPy integers too, never a bool
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"max_workers must be a positive int or None, got {max_workers!r}")
            max_workers = count
        if max_workers is not None and executor_type == "process" and max_workers > _process_limit():
            raise ExperimentValidationError(
                f"ParallelExecution(executor_type='process', max_workers={max_workers}): Windows "
                f"allows at most {WINDOWS_MAX_PROCESS_WORKERS} worker processes in a process pool. "
                f"Use max_workers={WINDOWS_MAX_PROCESS_WORKERS} or fewer (workers: in a config.yaml), "
                "leave it out (the default is capped there), or use executor_type='thread', "
                "which has no such limit."
            )
        self.max_workers = max_workers
        self.executor_type = executor_type

    def before_run(self, experiment: Experiment) -> None:
        """With processes: refuse, before the run is stored, what cannot be pickled, and
        under ``spawn`` or ``forkserver`` in an interactive session (a notebook,
        ``python -c``, the REPL), a step, datasource or other part defined there (see
        :func:`check_main_parts`)."""
        if self.executor_type == "process":
            check_picklable(experiment)
            check_main_parts(experiment)

    @property
    def workers(self) -> int:
        """The pool size actually used."""
        if self.max_workers is not None:
            return self.max_workers
        cpus = os.cpu_count() or 1
        return min(cpus, _process_limit()) if self.executor_type == "process" else cpus

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield each replicate's records as they finish (see :meth:`ExecutionPlugin.iter_results`)."""
        if self.executor_type == "thread":
            yield from self._iter_threads(experiment, replicate_fn, replicates)
        else:
            yield from self._iter_processes(experiment, replicate_fn, replicates)

    def _iter_threads(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        import queue
        from concurrent.futures import ThreadPoolExecutor

        events = queue.Queue() if wants_events(replicate_fn) else None
        if events is not None:
            replicate_fn = replicate_fn.with_event_sink(QueueSink(events))
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="crystallize")
        todo = iter(replicates)

        def submit(count: int) -> list[Future]:
            return [pool.submit(replicate_fn, rep) for rep in itertools.islice(todo, count)]

        try:  # _as_completed shuts the pool down: waiting for it, or not when stopped early
            first = submit(THREAD_TASKS_PER_WORKER * self.workers)
            # One new replicate per finished one: a window of futures, never the whole run.
            yield from _as_completed(pool, first, _one_result, events=events, more=lambda: submit(1))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            # Stopped early, threads still run a replicate (all ended otherwise): the run
            # puts its caller's generators back once they end, not while they draw.
            running = [thread for thread in getattr(pool, "_threads", ()) if thread.is_alive()]
            if running and not _EXITING:
                from crystallize.run_sharing import finish_before_restoring

                finish_before_restoring(experiment, running)

    def _iter_processes(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        with contextlib.ExitStack() as stack:
            events = None
            if wants_events(replicate_fn):
                with starting_processes(self.workers), forking():
                    events = event_queue(stack)
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
        import pickle
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing.sharedctypes import RawArray

        batcher = Batcher(replicates, self.workers)
        chunks: list[list[int]] = []
        sent: dict[Future, int] = {}
        broken: list[int] = []
        workers = min(self.workers, len(replicates)) or 1
        with starting_processes(workers):
            progress = RawArray("i", max(1, len(replicates)))  # a batch holds at least one
            pool = ProcessPoolExecutor(
                workers, mp_context=start_context(), initializer=_install,
                initargs=(payload, progress, main_advice(start_context().get_start_method())),
            )

        def unpack(future: Future) -> list[Any]:
            index = sent.pop(future)
            try:
                seconds, packed = future.result()
            except BrokenProcessPool:
                broken.append(index)
                return []
            batcher.timed(len(chunks[index]), seconds)
            return pickle.loads(packed)

        def top_up() -> list[Future]:
            """Keep two batches per worker sent, sized by the latest timing."""
            new = []
            while batcher and not broken and len(sent) < 2 * workers:
                chunk = batcher.next()
                try:
                    with starting_processes(workers, lambda: _workers_of(pool)):  # submit starts them
                        future = pool.submit(_run_batch, len(chunks), chunk)
                except BrokenProcessPool:  # noticed by the futures in flight
                    batcher.put_back(chunk)
                    break
                sent[future] = len(chunks)
                chunks.append(chunk)
                new.append(future)
            return new

        try:  # _as_completed shuts the pool down: waiting for it, or not when stopped early
            with forking():  # the first submit starts every worker (under fork, forks them)
                first = top_up()
            yield from _as_completed(pool, first, unpack, events=events, more=top_up)
        except WorkerStartError:  # its workers are stopped: wait for the pool to close its pipes
            pool.shutdown(wait=True, cancel_futures=True)  # (out of descriptors, exit needs one)
            raise
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
            raise RuntimeError(died_early_message(start_context().get_start_method()))
        return suspects, rest + list(batcher.todo)


def _process_limit() -> int:
    """The most workers a process pool may have here: :data:`WINDOWS_MAX_PROCESS_WORKERS`
    on Windows, no limit elsewhere (``sys.platform`` is read each time)."""
    return WINDOWS_MAX_PROCESS_WORKERS if sys.platform == "win32" else sys.maxsize


def run_alone(
    payload: bytes, replicate_fn: Callable[[int], Any], replicates: list[int], workers: int
) -> Iterator[list[Any]]:
    """Run each of ``replicates`` in a process of its own, ``workers`` at a time (after
    their pool broke), yielding each one's results in order.

    A replicate whose process dies too gets failed records naming how.
    """
    context = start_context()
    batch = max(1, workers)
    for first in range(0, len(replicates), batch):
        started = []
        try:
            with starting_processes(batch, lambda these=started: [process for _, process, _ in these]), forking():
                for replicate in replicates[first : first + batch]:
                    receive, send = context.Pipe(duplex=False)
                    advice = main_advice(context.get_start_method())
                    process = context.Process(target=_alone, args=(payload, replicate, send, advice))
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
    import pickle

    return pickle.loads(value[1])


def _alone(payload: bytes, replicate: int, conn: Any, advice: str | None = None) -> None:
    _install(payload, [0], advice)
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
    more: Callable[[], Iterable[Future]] | None = None,
) -> Iterator[Any]:
    """Yield ``unpack(future)``'s items as futures finish (and live events as they come,
    when ``events`` is a queue). After each finished future, ``more()`` (when given) may
    return new futures to wait for.

    Stopped early (Ctrl+C, an error, a consumer that stops reading), it does not wait for
    the replicates in flight, whose results would be thrown away: what has not started is
    cancelled, worker processes are stopped, and worker threads finish their current
    replicate in the background (a thread run hands them to the run, which waits for
    them before putting its caller's random generators back: see
    :class:`~crystallize.run_sharing.CallersRngs`).
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
                items = unpack(future)
                if more is not None:  # before yielding: workers stay busy while the caller works
                    pending.update(more())
                yield from items
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
            manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
            pool.shutdown(wait=False)
            _await_pool_manager(manager)


#: How long a stopped process pool's manager thread is given to notice its workers are
#: gone and release its resources.
_MANAGER_EXIT_SECONDS = 2.0


_EXITING = False  # set by exiting(): streams are being stopped at interpreter exit


def exiting() -> None:
    """Say the interpreter is exiting (the engine's exit hook, stopping abandoned
    streams): stopped pools then wait for their manager thread (:func:`_await_pool_manager`)."""
    global _EXITING
    _EXITING = True


def _await_pool_manager(manager: Any) -> None:
    """At interpreter exit, wait (briefly) for ``manager``, the manager thread of a
    process pool whose workers were stopped. It closes the pool's wake-up pipe when it
    ends; still running, it races ``concurrent.futures``' exit hook writing to the same
    pipe ("Exception ignored ... Bad file descriptor", a race in CPython 3.11)."""
    import threading

    if _EXITING and manager is not None and manager is not threading.current_thread():
        manager.join(_MANAGER_EXIT_SECONDS)


def _workers_of(pool: Executor) -> list[Any]:
    """The worker processes a process pool started (none for a thread pool)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def _stop_workers(pool: Executor) -> bool:
    """Terminate a process pool's workers now; ``False`` for a thread pool (a thread
    cannot be stopped: it finishes its replicate alone, and its result is dropped)."""
    processes = _workers_of(pool)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    return bool(processes)


def _one_result(future: Future) -> tuple[Any]:
    return (future.result(),)


__all__ = [
    "BATCH_SECONDS",
    "Batcher",
    "ParallelExecution",
    "THREAD_TASKS_PER_WORKER",
    "batches",
    "event_queue",
    "exit_with_parent",
    "stop_processes",
]
