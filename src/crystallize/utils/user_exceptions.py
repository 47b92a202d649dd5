"""Exceptions raised by user code (a step, a resource factory, a plugin hook) pass
through crystallize unchanged, whatever their class.

Crystallize adds a note (``exc.add_note``) to such an exception to say where it came
from, and ``contextlib.contextmanager`` assigns ``exc.__traceback__`` to an exception
leaving its ``with`` block. Some exception classes refuse either: a frozen dataclass
exception (``@dataclass(frozen=True) class QuotaExceeded(Exception)``: its
``__setattr__`` raises ``FrozenInstanceError``), or one whose ``__notes__`` is not a list
(``add_note`` raises ``TypeError``). Python then raises that refusal in place of the
user's exception (for the context manager, CPython issue gh-99856). The helpers here keep
the user's exception the one raised.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

from crystallize.utils.text import exception_summary

logger = logging.getLogger("crystallize")

_T = TypeVar("_T")
_P = ParamSpec("_P")


def add_note_safely(exc: BaseException, note: str) -> bool:
    """Add ``note`` to ``exc`` (``exc.add_note(note)``); return whether it could.

    When the exception class refuses the note, ``exc`` is left as it is (the caller
    raises it unchanged) and the note is logged as a warning on the ``crystallize``
    logger, naming the exception's class, so what it says is not lost.
    """
    try:
        exc.add_note(note)
    except Exception as refused:
        logger.warning(
            "Could not add a note to the %s being raised (%s); the note was: %s",
            type(exc).__name__, exception_summary(refused), note,
        )
        return False
    return True


class LetThrough(Generic[_T]):
    """Wraps a generator-based context manager (``contextlib.contextmanager``) so that an
    exception leaving the ``with`` block that refuses ``exc.__traceback__ = ...`` (a
    frozen dataclass exception) goes on unchanged, instead of the refusal replacing it.

    The generator has run its cleanup by then: only ``contextlib``'s bookkeeping
    failed. Any other exception of ``__exit__`` (the generator's own) is raised as usual.
    """

    __slots__ = ("_manager",)

    def __init__(self, manager: contextlib.AbstractContextManager[_T]) -> None:
        self._manager = manager

    def __enter__(self) -> _T:
        return self._manager.__enter__()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> bool | None:
        try:
            return self._manager.__exit__(typ, value, traceback)
        except Exception as failure:
            if value is None or failure is value or failure.__context__ is not value:
                raise
            if _raised_by(failure, getattr(self._manager, "gen", None)) or _accepts_traceback(value, traceback):
                raise
            return False  # the with statement raises ``value`` itself


def contextmanager(fn: Callable[_P, Iterator[_T]]) -> Callable[_P, LetThrough[_T]]:
    """``contextlib.contextmanager`` whose context managers let an exception refusing
    ``__traceback__`` (a frozen dataclass exception) through unchanged; see :class:`LetThrough`."""
    make = contextlib.contextmanager(fn)

    @functools.wraps(fn)
    def manager(*args: _P.args, **kwargs: _P.kwargs) -> LetThrough[_T]:
        return LetThrough(make(*args, **kwargs))

    return manager


def _raised_by(failure: BaseException, generator: Any) -> bool:
    """True when ``failure`` was raised in ``generator``'s own code (its cleanup failed)."""
    code = getattr(generator, "gi_code", None)
    tb = failure.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _accepts_traceback(exc: BaseException, traceback: TracebackType | None) -> bool:
    """Whether ``exc.__traceback__ = traceback`` (what ``contextlib`` does) works."""
    try:
        exc.__traceback__ = traceback
    except Exception:
        return False
    return True


__all__ = ["LetThrough", "add_note_safely", "contextmanager"]
