"""Capturing warnings in one thread while Python's warning machinery is process-wide.

``warnings.catch_warnings(record=True)`` plus ``simplefilter("always")`` swaps the
process-wide filter list and display hooks for the block: every thread's warnings are then
recorded into the block's list (filed under the wrong result, hidden from the display the
other thread set up), every thread's filters are overridden (an ``error`` filter of another
thread stops raising), and on exit the hooks saved on entry are put back, undoing one that
another thread installed meanwhile (``logging.captureWarnings(True)``).

:func:`capture_warnings` records only the calling thread's warnings and changes nothing
for the others:

* one filter, ``("always", <thread scope>, Warning, None, 0)``, sits at the front of the
  filter list while any capture is open. Its message pattern is an object whose ``match``
  is true only in a thread with a capture open (the warning machinery calls
  ``pattern.match(text)``), so it applies to the capturing threads alone; every other
  thread's warnings go through the filters as if it were not there.
* ``warnings._showwarnmsg`` (the hook the interpreter calls to display a warning that
  passed the filters) is wrapped: in a capturing thread the warning is recorded, in any
  other thread it is handed to the hook that was there before, which looks up
  ``warnings.showwarning`` at call time, so a display hook installed meanwhile is used.
  ``showwarning`` and ``_showwarnmsg_impl`` themselves are never replaced, so nothing of
  another thread's is undone on exit; the wrapper and the filter are removed when the
  last capture closes, only where they are still in place.

Unlike ``catch_warnings``, filters added inside the block (a module imported there
calling ``warnings.filterwarnings``) stay after it.

Residual effects on other threads: opening a capture resets the "already shown" records
of the ``default``/``once``/``module`` actions (as every change to the filters does, and as
``catch_warnings`` does), so a warning shown once may be shown once more; the filter is
visible in ``warnings.filters`` while a capture is open.

Limits, all about the capturing thread's own list:

* filters stay process-wide: one added by any thread while a capture is open goes ahead of
  the capture's filter, so its ``ignore`` or ``error`` applies to the capturing thread too.
* a warning is recorded only while the display hooks are those in place when the capture
  opened. If they change (``catch_warnings(record=True)`` or
  ``numpy.testing.suppress_warnings`` opened inside the block, or another thread's
  ``logging.captureWarnings``), it goes to the new hook: a recorder nested in the block
  keeps its warnings, but a hook installed by another thread takes the capture's too.
* a ``catch_warnings`` block entered by other code in another thread before a capture
  opens and left while it is open puts back a filter list without the capture's filter:
  the capturing thread's warnings then go through the remaining filters until the next
  capture opens.
* the interpreter skips a warning whose text, category and line its module's registry
  already holds (checked before any filter): if another thread raises that identical
  warning under a ``default``/``once``/``module``/``ignore`` filter while the capture is
  open, the capture does not see its own.
* warnings of threads the captured code starts are not recorded, nor those of processes
  it forks: a forked child (a worker of a process pool) starts with no capture open, so its
  warnings are filtered and displayed as they would be without one (the capture's list is
  the parent's: the child could only record them where nobody reads them).

``capture_warnings(apply_filters=True)`` records only what the filters would have let
through to the display (``default`` shows a text once per place, ``ignore`` drops it,
``error`` raises it), and ``capture_warnings(show=...)`` hands each warning to a callable
as it is raised, instead of listing it: an interface shows warnings in its own place, as
they come and as the command line would print them.

:func:`catch_warnings` is ``warnings.catch_warnings`` holding a module lock, for code that
needs the stdlib block (it affects every thread while open); the lock keeps it from
interleaving with another such block or with a capture opening or closing.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

# Re-entrant: a block may run code that opens another (a verifier calling a helper that
# collects warnings too).
_LOCK = threading.RLock()

# The filter's ``match`` in a capturing thread (true for any message text) and in the
# others (true for none). C callables, so walking the filter list past our filter runs no
# Python code and never lets another thread in mid-walk (the interpreter walks the list
# by index: a filter removed under a walk in progress would make it skip the next one).
_MATCH_ANY = functools.partial(operator.is_not, None)
_MATCH_NONE = functools.partial(operator.is_, None)


class _ThreadState(threading.local):
    """Per thread: ``captures``, the open captures (innermost last), and ``match``, the
    capture filter's message pattern (matches any text while the thread has a capture
    open). No ``__init__``: the filter walk may touch this in any thread and must stay in C.
    """

    # A staticmethod: from Python 3.13 a functools.partial read through a class warns
    # (FutureWarning: it will become a method), and that warning, filtered through this
    # very attribute, recursed until the interpreter crashed.
    match = staticmethod(_MATCH_NONE)

    def __repr__(self) -> str:
        return "<crystallize: warnings of threads capturing them>"


_STATE = _ThreadState()
_FILTER = ("always", _STATE, Warning, None, 0)


class _Capture:
    """One open capture: its list, the display hooks in place when it opened, where its
    warnings go (``show``, else the list) and whether the filters apply to them."""

    __slots__ = ("apply_filters", "caught", "hooks", "show")

    def __init__(self, show: Callable[[warnings.WarningMessage], object] | None, apply_filters: bool) -> None:
        self.caught: list[warnings.WarningMessage] = []
        self.hooks = _display_hooks()
        self.show = show
        self.apply_filters = apply_filters

    def take(self, msg: warnings.WarningMessage) -> None:
        """Record ``msg``: hand it to :attr:`show`, else append it to the list."""
        if self.show is not None:
            self.show(msg)
        else:
            self.caught.append(msg)

    @property
    def match(self) -> Callable[[Any], bool]:
        """The capture filter's pattern while this is the thread's innermost capture: it
        applies to every warning, or to none when the filters in place decide."""
        return _MATCH_NONE if self.apply_filters else _MATCH_ANY


def _display_hooks() -> tuple[Any, ...]:
    """The hooks that decide where a displayed warning goes (compared by identity)."""
    context = getattr(warnings, "_get_context", None)  # Python 3.14+: per-context record log
    return (
        warnings.showwarning,
        getattr(warnings, "_showwarnmsg_impl", None),
        getattr(context(), "log", None) if context is not None else None,
    )


# Installation state, guarded by _LOCK.
_open_count = 0
_filter_lists: list[list[Any]] = []  # lists the filter was inserted into
_installed: Callable[[Any], None] | None = None  # our current warnings._showwarnmsg
_replaced: Callable[[Any], None] | None = None  # the hook it wraps


def _current_filters() -> list[Any]:
    # Python 3.14+ may keep filters per context (``-X context_aware_warnings``).
    get = getattr(warnings, "_get_filters", None)
    return get() if get is not None else warnings.filters  # type: ignore[no-any-return]


def _filters_mutated() -> None:
    """Invalidate the "already shown" records, as every change to the filters must."""
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()


def _dispatcher(previous: Callable[[Any], None]) -> Callable[[Any], None]:
    """A ``warnings._showwarnmsg`` recording the capturing thread's warnings, passing the
    others (and a capturing thread's whose hooks changed) to ``previous``."""

    def showwarnmsg(msg: Any) -> None:
        captures = getattr(_STATE, "captures", None)
        if captures:
            capture = captures[-1]
            if all(now is then for now, then in zip(_display_hooks(), capture.hooks, strict=True)):
                capture.take(msg)
                return
        previous(msg)

    return showwarnmsg


def _open(capture: _Capture) -> None:
    global _open_count, _installed, _replaced
    with _LOCK:
        filters = _current_filters()
        # Checked at every opening: a list put back meanwhile (a catch_warnings block
        # leaving) may lack the filter.
        if not any(item is _FILTER for item in filters):
            filters.insert(0, _FILTER)
            _filter_lists.append(filters)
        # A warning already shown under "default" is noted in a registry consulted before
        # any filter; resetting the registries lets this capture see it again.
        _filters_mutated()
        if _installed is None or warnings._showwarnmsg is not _installed:  # type: ignore[attr-defined]
            _replaced = warnings._showwarnmsg  # type: ignore[attr-defined]
            _installed = _dispatcher(_replaced)
            warnings._showwarnmsg = _installed  # type: ignore[attr-defined]
        captures = getattr(_STATE, "captures", None)
        if captures is None:
            captures = _STATE.captures = []
        captures.append(capture)
        _STATE.match = capture.match
        _open_count += 1


def _close(capture: _Capture) -> None:
    global _open_count
    with _LOCK:
        captures = getattr(_STATE, "captures", None) or []
        if capture not in captures:  # forgotten in a forked child (_after_fork_in_child)
            return
        captures.remove(capture)
        if captures:
            _STATE.match = captures[-1].match
        else:
            del _STATE.match  # back to the class's _MATCH_NONE
        _open_count -= 1
        if not _open_count:
            _uninstall()


def _uninstall() -> None:
    """Take out the filter and the dispatcher, where they are still in place (lock held)."""
    global _installed, _replaced
    for filters in [*_filter_lists, _current_filters()]:
        # list.remove compares in C, one element at a time; a filter another thread adds
        # meanwhile is kept.
        with contextlib.suppress(ValueError):
            while True:
                filters.remove(_FILTER)
    _filter_lists.clear()
    # No registry reset here: the filter never applied to other threads, and "always"
    # notes nothing in the registries.
    if warnings._showwarnmsg is _installed:  # type: ignore[attr-defined]
        warnings._showwarnmsg = _replaced  # type: ignore[attr-defined]
    # Otherwise someone wrapped our dispatcher meanwhile: it stays, passing every warning
    # on (no capture is open).
    _installed = _replaced = None


def _after_fork_in_child() -> None:
    """A forked child starts with no capture open: forget every capture (the forking
    thread's lists live on in the parent, which never sees what the child would add to
    them), take out the filter and the dispatcher, and renew the lock, which another
    thread may have held at the fork. A capture block the child then leaves does nothing."""
    global _LOCK, _open_count
    _LOCK = threading.RLock()
    _open_count = 0
    if getattr(_STATE, "captures", None):
        _STATE.captures = []
        del _STATE.match
    if _installed is not None:
        _uninstall()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def capture_warnings(
    show: Callable[[warnings.WarningMessage], object] | None = None, *, apply_filters: bool = False
) -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings the calling thread raises inside the block.

    Yields the list the warnings are appended to (``warnings.WarningMessage`` items); they
    are not displayed. The filters in place when the block opens do not apply to them (an
    ``ignore`` or ``error`` filter added during the block does). Other threads' warnings,
    filters and display hooks are left to them, and so are the processes the block forks
    (see the module docstring for the residual effects). Captures nest, in one thread (the
    innermost records) and across threads (each records its own).

    Args:
        show: called with each warning as it is raised (in the calling thread) instead of
            appending it to the list, which then stays empty: to show the warnings
            somewhere else than ``sys.stderr``, as they come. It must not raise (its
            exception would come out of ``warnings.warn``).
        apply_filters: record only the warnings the filters would have displayed, as they
            would have (an ``ignore`` filter drops a warning, ``error`` raises it,
            ``default`` lets a text through once per place). Python's "already shown"
            records are reset when the block opens, so each capture sees its warnings
            once again.
    """
    capture = _Capture(show, apply_filters)
    _open(capture)
    try:
        yield capture.caught
    finally:
        _close(capture)


@contextlib.contextmanager
def catch_warnings(**kwargs: Any) -> Iterator[list[warnings.WarningMessage] | None]:
    """``warnings.catch_warnings(**kwargs)``, holding the lock shared with Crystallize's
    other such blocks and with :func:`capture_warnings` opening and closing. Affects every
    thread while open: prefer :func:`capture_warnings`."""
    with _LOCK, warnings.catch_warnings(**kwargs) as caught:
        yield caught


__all__ = ["capture_warnings", "catch_warnings"]
