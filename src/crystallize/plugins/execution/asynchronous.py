"""AsyncExecution: replicates as concurrent asyncio tasks, for ``async def`` steps."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.events import LiveEvent, QueueSink
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.parallel import wants_events

if TYPE_CHECKING:
    from crystallize.experiment import Experiment

_DONE = object()

#: How many finished replicates' results may wait for the driver to take them: while
#: more wait, no replicate is started, so a slow reader does not make memory grow.
MOST_WAITING = 64
#: How often a run held back by :data:`MOST_WAITING` looks again (seconds).
CATCH_UP_POLL = 0.001


class AsyncExecution(ExecutionPlugin):
    """Run replicates concurrently on an asyncio event loop.

    Async steps and datasources of different replicates interleave while they await, so
    IO-bound work overlaps; synchronous steps still run one at a time. The loop runs in a
    private thread, so this works from scripts and from notebooks that already run a loop.

    Each replicate keeps its own state of Python's ``random`` and NumPy's global
    generator across its awaits (see :mod:`~crystallize.plugins.execution.rng_isolation`),
    so seeded runs give the same numbers as :class:`SerialExecution`. Generators that
    only a custom ``seed_fn`` seeds (PyTorch, say) are shared by replicates in flight:
    use ``max_concurrency=1`` when those must be reproducible. When the run stops
    (Ctrl+C, an error, a consumer that stops reading), replicates not yet started are
    skipped and the others are cancelled where they next resume; one running
    synchronous steps finishes them first (up to its next ``await``). Tasks a step
    started and left running are cancelled when the run ends.

    Replicates are started one after another, each as a task of its own; while
    :data:`MOST_WAITING` finished replicates' results wait for the driver, none is
    started.

    Args:
        max_concurrency: at most this many replicates in flight (``None``: no limit).

    Raises:
        ValueError: ``max_concurrency`` is not a positive int or None.
    """

    executor_type = "async"

    def __init__(self, max_concurrency: int | None = None) -> None:
        if max_concurrency is not None:
            from crystallize.experiment_checks import _as_count

            count = _as_count(max_concurrency)  # NumPy integers too, never a bool
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise ValueError(f"max_concurrency must be a positive int or None, got {max_concurrency!r}")
            max_concurrency = count
        self.max_concurrency = max_concurrency

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield each replicate's records as they finish (see :meth:`ExecutionPlugin.iter_results`)."""
        import asyncio
        import queue
        import threading

        from crystallize.awaitables import cancel_other_tasks
        from crystallize.plugins.execution.rng_isolation import OwnRngState, stream_task_factory
        from crystallize.replicate import RUN_STOPPING, cancels_replicate, finished_before

        results: queue.Queue = queue.Queue()
        if wants_events(replicate_fn):  # live events join the results, in arrival order
            replicate_fn = replicate_fn.with_event_sink(QueueSink(results))
        loop = asyncio.new_event_loop()
        main: list[Any] = []
        stopping = threading.Event()  # set by the consumer; checked whenever a replicate resumes

        async def run_one(rep: int, limit: Any) -> None:
            arun = getattr(replicate_fn, "arun", None)
            try:
                if stopping.is_set():  # the run stopped before this task's first step
                    return
                RUN_STOPPING.set(stopping)  # this task's context: arun stops at its next resume
                result = await OwnRngState(arun(rep)) if arun is not None else replicate_fn(rep)
                results.put((True, result))
            except asyncio.CancelledError as exc:
                if cancels_replicate(exc):
                    finished = finished_before(exc)
                    if finished:  # kept: the driver stores them before it stops
                        results.put((True, finished))
                    raise
                results.put((False, exc))  # raised by the replicate itself: its failure
            except BaseException as exc:
                stopping.set()  # a KeyboardInterrupt in a step: start no more replicates
                finished = finished_before(exc)
                if finished:  # the conditions the replicate finished before it stopped
                    results.put((True, finished))
                results.put((False, exc))
            finally:
                if limit is not None:
                    limit.release()

        async def run_all() -> None:
            """Start each replicate in turn: tasks exist only for the replicates in
            flight, never for the whole run."""
            limit = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
            running: set[asyncio.Task] = set()
            try:
                for rep in replicates:
                    if limit is not None:
                        await limit.acquire()  # released when a replicate ends
                    else:
                        await asyncio.sleep(0)  # those started run up to their first await
                    while results.qsize() >= MOST_WAITING and not stopping.is_set():
                        await asyncio.sleep(CATCH_UP_POLL)  # the driver is behind
                    if stopping.is_set():
                        break
                    task = asyncio.ensure_future(run_one(rep, limit))
                    running.add(task)
                    task.add_done_callback(running.discard)
                await asyncio.gather(*running)
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

        sharing = getattr(replicate_fn, "rng_sharing", None)

        def runner() -> None:
            if sharing is not None:  # a run a step starts on this thread is nested in it
                sharing.loop_thread = threading.get_ident()
            asyncio.set_event_loop(loop)
            loop.set_task_factory(stream_task_factory)  # tasks a replicate starts share its RNGs
            try:
                main.append(loop.create_task(run_all()))
                loop.run_until_complete(main[0])
            except asyncio.CancelledError:
                pass
            finally:
                try:  # tasks steps left running: cancelled, as asyncio.run does
                    loop.run_until_complete(cancel_other_tasks())
                finally:
                    loop.close()
                    results.put(_DONE)

        def stop() -> None:
            stopping.set()
            if main and not loop.is_closed():
                # RuntimeError: the loop closed in between, so nothing is left to cancel.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(main[0].cancel)
            thread.join()

        thread = threading.Thread(target=runner, name="crystallize-async", daemon=True)
        thread.start()
        try:
            while (item := results.get()) is not _DONE:
                if isinstance(item, LiveEvent):
                    yield item
                    continue
                ok, value = item
                if not ok:
                    raise value
                yield value
        except GeneratorExit:  # the consumer stopped reading: nothing more is wanted
            raise
        except BaseException:
            # Ctrl+C or a failure: replicates in flight stop, and what they and the ones
            # already waiting finished is handed over before the exception goes on.
            stop()
            yield from _finished_records(results)
            raise
        finally:
            stop()


def _finished_records(results: Any) -> Iterator[Any]:
    """The finished conditions' records left in ``results`` once the loop has ended
    (live events and failures there are dropped: the run is stopping)."""
    import queue

    while True:
        try:
            item = results.get_nowait()
        except queue.Empty:
            return
        if item is not _DONE and not isinstance(item, LiveEvent) and item[0]:
            yield item[1]


__all__ = ["MOST_WAITING", "AsyncExecution"]
