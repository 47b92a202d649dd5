"""ParallelExecution: replicates on a thread or process pool."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.events import QueueSink, drain
from crystallize.exceptions import PicklingError
from crystallize.plugins.execution.base import ExecutionPlugin

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from crystallize.experiment import Experiment

EXECUTOR_TYPES = ("thread", "process")

# The replicate function installed in each worker process by the pool initializer,
# or the reason it could not be installed (reported by the first task).
_worker_fn: Callable[[int], Any] | None = None
_install_error: str | None = None


def _install(payload: bytes) -> None:
    global _worker_fn, _install_error
    import pickle

    try:
        _worker_fn = pickle.loads(payload)
    except Exception as exc:  # reported by _run_batch: a raising initializer breaks the pool
        _install_error = f"{type(exc).__name__}: {exc}"


def _run_batch(replicates: Sequence[int]) -> list[Any]:
    if _worker_fn is None:
        raise PicklingError(
            "A worker process could not load the experiment sent to it "
            f"({_install_error}). Make sure steps, datasources and the modules they live in "
            "can be imported by worker processes."
        )
    return [_worker_fn(rep) for rep in replicates]


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
    function once, then small batches of replicate indices.
    """

    def __init__(self, max_workers: int | None = None, executor_type: str = "thread") -> None:
        if executor_type not in EXECUTOR_TYPES:
            raise ValueError(
                f"executor_type must be 'thread' or 'process', got {executor_type!r} "
                "(use AsyncExecution for async steps, RayExecution for a cluster)"
            )
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
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
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="crystallize") as pool:
            futures = {pool.submit(replicate_fn, rep) for rep in replicates}
            yield from _as_completed(pool, futures, batched=False, events=events)

    def _iter_processes(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        with contextlib.ExitStack() as stack:
            events = None
            if wants_events(replicate_fn):
                from multiprocessing import Manager

                events = stack.enter_context(Manager()).Queue()
                replicate_fn = replicate_fn.with_event_sink(QueueSink(events))
            payload = pickle_for_workers(experiment, replicate_fn)
            chunks = batches(replicates, self.workers)
            workers = min(self.workers, len(chunks)) or 1
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, initializer=_install, initargs=(payload,))
            )
            futures = {pool.submit(_run_batch, chunk) for chunk in chunks}
            try:
                yield from _as_completed(pool, futures, batched=True, events=events)
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "A worker process died (killed, out of memory, or crashed in native code) "
                    "while running replicates; finished replicates are kept. Re-run with "
                    "strategy='resume' to finish the rest."
                ) from exc


def wants_events(replicate_fn: Any) -> bool:
    """True when the driver listens to live events from this replicate function."""
    return getattr(replicate_fn, "event_sink", None) is not None and hasattr(replicate_fn, "with_event_sink")


#: How often executors look for live events while replicates run (seconds).
EVENT_POLL_INTERVAL = 0.05


def _as_completed(pool: Executor, futures: set[Future], batched: bool, events: Any = None) -> Iterator[Any]:
    """Yield results as futures finish (and live events as they come, when ``events`` is
    a queue); cancel what has not started if closed early."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = futures
    timeout = EVENT_POLL_INTERVAL if events is not None else None
    try:
        while pending:
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if events is not None:
                yield from drain(events)
            for future in done:
                if batched:
                    yield from future.result()
                else:
                    yield future.result()
        if events is not None:
            yield from drain(events)
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def pickle_for_workers(experiment: Experiment, replicate_fn: Callable[[int], Any]) -> bytes:
    """Pickle ``replicate_fn``; on failure, name the piece that cannot be pickled."""
    import pickle

    try:
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


__all__ = ["ParallelExecution", "batches", "check_picklable", "find_unpicklable", "pickle_for_workers"]
