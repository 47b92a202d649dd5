"""Give each asyncio replicate its own global RNG state while replicates interleave.

Concurrent replicates share Python's ``random`` module and NumPy's global generator. A
replicate seeded, then suspended at an ``await`` while another replicate seeds or draws,
would resume on the other's state: its numbers would depend on timing and its recorded
seed could not reproduce it. :class:`OwnRngState` swaps the replicate's own state in
each time its coroutine resumes and saves it each time it suspends, so every replicate
draws exactly what it would draw running alone. It costs nothing for a replicate that
never suspends (synchronous steps), and a few microseconds per suspension otherwise
(tens when NumPy is loaded).
"""

from __future__ import annotations

import random
from collections.abc import Coroutine, Generator
from typing import Any

from crystallize.plugins.numpy_seeding import restore_numpy_state, save_numpy_state


class OwnRngState:
    """Await ``coro`` with its own state of ``random`` and NumPy's global generator.

    Args:
        coro: the coroutine to run (one replicate).
    """

    __slots__ = ("coro",)

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self.coro
        saved: tuple[Any, tuple[str, Any]] | None = None  # None until it first suspends
        value: Any = None
        error: BaseException | None = None
        while True:
            if saved is not None:
                random.setstate(saved[0])
                restore_numpy_state(saved[1])
            try:
                suspended_on = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as done:
                return done.value
            saved = (random.getstate(), save_numpy_state())
            try:
                value, error = (yield suspended_on), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # e.g. CancelledError: delivered to the replicate
                value, error = None, exc


__all__ = ["OwnRngState"]
