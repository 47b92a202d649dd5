"""Give each asyncio replicate its own global RNG state while replicates interleave.

Concurrent replicates share Python's ``random`` module and NumPy's global generator. A
replicate seeded, then suspended at an ``await`` while another replicate seeds or draws,
would resume on the other's state: its numbers would depend on timing and its recorded
seed could not reproduce it. :class:`OwnRngState` swaps the replicate's own state in
each time its coroutine resumes and saves it each time it suspends, so every replicate
draws exactly what it would draw running alone. It costs nothing for a replicate that
never suspends (synchronous steps), and a few microseconds per suspension otherwise
(tens when NumPy is loaded).

:class:`PreservedRngState` puts the generators back after code run on the side (and the
caller's after a run); :class:`RngSharing` tells whether a run's replicates have them to
themselves.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Coroutine, Generator
from contextvars import ContextVar
from typing import Any

from crystallize.plugins.numpy_seeding import restore_numpy_state, save_numpy_state


class RngStream:
    """The global generators' state of one replicate while it is not running.

    Shared by the replicate's coroutine and every task it starts (``asyncio.gather``,
    ``create_task``): they draw from one stream, in the order the loop runs them, as
    they would running alone.
    """

    __slots__ = ("saved",)

    def __init__(self) -> None:
        self.saved: tuple[Any, tuple[str, Any, int | None]] | None = None  # None until it first pauses

    def resume(self) -> None:
        """Put this stream's state in the global generators."""
        if self.saved is not None:
            random.setstate(self.saved[0])
            restore_numpy_state(self.saved[1])

    def pause(self) -> None:
        """Keep the global generators' state as this stream's."""
        self.saved = (random.getstate(), save_numpy_state())


class PreservedRngState:
    """``with PreservedRngState():`` puts the global generators back as they were when
    the block started (for code run on the side: a resource factory, a treatment
    function rebuilt for an event hook)."""

    __slots__ = ("saved",)

    def __init__(self) -> None:
        self.saved = RngStream()

    def __enter__(self) -> None:
        self.saved.pause()

    def __exit__(self, *exc_info: object) -> None:
        self.saved.resume()


class RngSharing:
    """Whether the replicates of one run in flight have this process's global generators
    to themselves (a run whose replicates run here: serial, thread or async execution).

    They do not under thread execution (``threads``), nor while another such run is in
    flight in another thread (``overlap``: the warning saying so, set by whichever of the
    two runs started second). A cacheable step that drew from the generators is then not
    cached, since its numbers may be mixed with the other code's draws.

    Args:
        name: the experiment's name.
        threads: whether the run's replicates run in threads of their own.

    Attributes:
        loop_thread: the thread running the replicates one step at a time when that is
            not the thread the run was started in (AsyncExecution's event loop): a run
            started there is nested in one of this run's steps, not concurrent with it.
    """

    __slots__ = ("name", "thread", "threads", "overlap", "loop_thread")

    def __init__(self, name: str, threads: bool = False) -> None:
        self.name = name
        self.thread = threading.get_ident()  # the thread the run was started in
        self.threads = threads
        self.overlap: str | None = None
        self.loop_thread: int | None = None

    def runs_beside(self, other: RngSharing) -> bool:
        """Whether this run, starting now, draws while ``other`` (in flight) may: it was
        started in another thread than ``other``, and not in the loop thread where
        ``other`` runs its replicates one step at a time (then a step of ``other`` started
        it, and ``other`` waits for it)."""
        if other.thread == self.thread:
            return False  # nested in a step of the other
        return other.threads or other.loop_thread != self.thread

    @property
    def shared(self) -> bool:
        """True when other code may draw from the generators while a replicate does."""
        return self.threads or self.overlap is not None


#: The stream of the replicate whose code is running (read when it starts a task).
CURRENT_STREAM: ContextVar[RngStream | None] = ContextVar("crystallize_rng_stream", default=None)


class OwnRngState:
    """Await ``coro`` drawing from ``stream``: swapped in each time the coroutine resumes,
    saved each time it suspends or ends.

    Args:
        coro: the coroutine to run (one replicate, or a task it started).
        stream: the replicate's stream (a new one when not given).
    """

    __slots__ = ("coro", "stream")

    def __init__(self, coro: Coroutine[Any, Any, Any], stream: RngStream | None = None) -> None:
        self.coro = coro
        self.stream = stream or RngStream()

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, stream = self.coro, self.stream
        token = CURRENT_STREAM.set(stream)  # tasks started from here share the stream
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                stream.resume()
                try:
                    suspended_on = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as done:
                    return done.value
                finally:
                    stream.pause()
                try:
                    value, error = (yield suspended_on), None
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # e.g. CancelledError: delivered to the replicate
                    value, error = None, exc
        finally:
            with contextlib.suppress(ValueError):  # closed from another context (garbage collection)
                CURRENT_STREAM.reset(token)


async def _in_stream(coro: Coroutine[Any, Any, Any], stream: RngStream) -> Any:
    return await OwnRngState(coro, stream)


def stream_task_factory(loop: Any, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
    """A task factory (``loop.set_task_factory``) under which a task started by a
    replicate draws from that replicate's stream instead of whatever was current."""
    import asyncio

    stream = CURRENT_STREAM.get()
    if stream is not None:
        coro = _in_stream(coro, stream)
    return asyncio.Task(coro, loop=loop, **kwargs)


__all__ = [
    "CURRENT_STREAM", "OwnRngState", "PreservedRngState", "RngSharing", "RngStream", "stream_task_factory",
]
