"""Running a replicate's awaitables for the synchronous executors.

A datasource or step may return an awaitable under every executor. The asynchronous
executor awaits it on its own loop; serial, thread and process execution hand it to an
:class:`AwaitableRunner`, one per condition × replicate that turns out to need one.
"""

from __future__ import annotations

from typing import Any


async def _as_coroutine(awaitable: Any) -> Any:
    return await awaitable


_CLEANUP_SECONDS = 5.0


async def cancel_other_tasks() -> None:
    """Cancel every other task of the running loop and wait (at most 5 s) for them to
    end, as ``asyncio.run`` does before closing its loop: tasks a step started and left
    running get their ``CancelledError`` (and run their ``finally``) instead of being
    destroyed pending. An exception such a task raises goes to the loop's exception
    handler (logged); it fails no replicate."""
    import asyncio

    me = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not me]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    done, _ = await asyncio.wait(tasks, timeout=_CLEANUP_SECONDS)  # one ignoring cancel is left
    loop = asyncio.get_running_loop()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({
                "message": "a task a step left running raised when it was cancelled",
                "exception": task.exception(),
                "task": task,
            })


class AwaitableRunner:
    """Runs one condition's awaitables to completion for synchronous executors, all on one
    event loop (tasks a datasource starts live on into later steps): a loop of its own,
    or — when this thread already runs one (a Jupyter notebook, an async web app), where
    a second cannot run here — a loop on a helper thread."""

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.thread: Any = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop here: the usual case
            return
        import threading

        self.thread = threading.Thread(target=self.loop.run_forever, name="crystallize-await", daemon=True)
        self.thread.start()

    def run(self, awaitable: Any) -> Any:
        """Await ``awaitable`` and return its result (or raise its exception)."""
        if self.thread is None:
            return self.loop.run_until_complete(_as_coroutine(awaitable))
        import asyncio

        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self.loop).result()

    def close(self) -> None:
        """Cancel the tasks the condition left running and finish async generators left
        open, then release the loop (and its thread; one still busy, say after Ctrl+C,
        is a daemon and left to end on its own)."""
        import asyncio

        if self.thread is None:
            try:
                if asyncio.all_tasks(self.loop):  # none, usually: skip a pass of the loop
                    self.loop.run_until_complete(cancel_other_tasks())
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()
            return
        import contextlib

        with contextlib.suppress(Exception):  # a stuck task or generator must not hang the run
            asyncio.run_coroutine_threadsafe(cancel_other_tasks(), self.loop).result(timeout=_CLEANUP_SECONDS + 1)
            asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


__all__ = ["AwaitableRunner", "cancel_other_tasks"]
