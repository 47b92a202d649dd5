"""Live progress of a run: a rich progress bar on a terminal, plain lines otherwise.

One bar per condition shows the replicates done, the errors so far and the time
remaining. When the conditions do not fit the terminal, one bar shows the whole run and
the bars below it the conditions that advanced last, so a redraw costs the same for
hundreds of conditions as for a few. On a narrow terminal the names are shortened (the
experiment's first) and the times left out, so the counts always show. Replicates
resumed from the store count as done as soon as they are known, and the time left is
estimated from the replicates the run computes.

When the output is not a terminal (a pipe, a CI log), or is a dumb one (``TERM=dumb``,
which rich does not redraw), the same information comes as plain lines: one when the
run starts, one when each condition finishes, and a status line every few seconds in
between, from a timer (a run whose replicates take long still shows it goes). That is
decided by the output itself (``isatty()``), not by rich: ``FORCE_COLOR`` (which CI
systems set) makes rich treat any output as a terminal, and a live bar redrawn into a
log file fills it with cursor movements.

The live display is redrawn by a thread of rich's, which holds the display's lock while
it draws, and ``sys.stdout``/``sys.stderr`` are proxies printing through the display.
A process forked meanwhile (a worker of ``--executor process`` under the ``fork`` start
method) would copy that lock held by a thread it does not have, and block forever on
its first print or log line. So a fork waits for the redraw under way and holds the
display's locks over it (see :func:`_before_fork`): the child gets them free. The plain
timer's thread stops while the library forks workers, like the store's threads
(:func:`crystallize.store.checkpoint.on_fork_pause`).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from time import monotonic
from typing import TYPE_CHECKING, Any

from crystallize.cli.text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

#: Seconds between two plain status lines.
PLAIN_INTERVAL = 5.0

#: Most bars drawn at once (fewer when the terminal is shorter): each redraw draws them all.
MAX_BARS = 40

#: Terminals narrower than this many columns get bars without the elapsed time and the
#: time left, so the counts keep their room.
TIMES_MIN_WIDTH = 80

#: The name of the thread printing plain status lines while no record comes.
TIMER_THREAD = "crystallize-progress"

_BAR_MIN, _BAR_MAX = 8, 40  # cells of a bar: it shrinks first, down to this
_LABEL_MIN = 12  # cells of a bar's label on the narrowest terminals


class ConditionCount:
    """Replicates done and failed for one condition."""

    __slots__ = ("done", "errors", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.errors = 0


class Tracker:
    """Counts records per condition and shows them (see :class:`RunProgress`).

    ``done``, ``total`` and ``errors`` hold the counts of every condition together;
    ``resumed`` how many of ``done`` were found in the store (see :meth:`resume`).
    """

    def __init__(self, name: str, conditions: Sequence[str], replicates: int) -> None:
        self.name = name
        self.counts = {condition: ConditionCount(replicates) for condition in conditions}
        self.done = 0
        self.errors = 0
        self.total = replicates * len(self.counts)
        self.resumed = 0
        self.started = monotonic()
        self.broken = False  # the display failed once: show nothing more

    def eta(self) -> float | None:
        """Seconds left at the pace of the replicates computed so far (``None`` before
        the first): those resumed from the store took none of this run's time."""
        computed = self.done - self.resumed
        if computed <= 0:
            return None
        elapsed = monotonic() - self.started
        return max(0.0, elapsed / computed * (self.total - self.done))

    def advance(self, record: ReplicateRecord) -> None:
        """Count one finished replicate."""
        count = self.counts.get(record.condition) or ConditionCount(0)
        errors = count.errors + (record.error is not None)
        self._set(record.condition, count.done + 1, errors, max(count.total, count.done + 1))

    def resume(self, records: Iterable[ReplicateRecord]) -> None:
        """Count replicates resumed from the store as done, as soon as they are known
        (once per run). They are not streamed, and :meth:`eta` leaves them out of the
        pace."""
        stored: dict[str, list[ReplicateRecord]] = {}
        for record in records:
            stored.setdefault(record.condition, []).append(record)
        for condition, found in stored.items():
            count = self.counts.get(condition) or ConditionCount(0)
            done = count.done + len(found)
            errors = count.errors + sum(1 for r in found if r.error is not None)
            self.resumed += len(found)  # before the display reads the pace
            self._set(condition, done, errors, max(count.total, done), jump=True)

    def finish(self, result: Result | None) -> None:
        """Account for replicates resumed from the store that :meth:`resume` was not told
        of (they are not streamed): the Result holds every record of the run."""
        if result is None:
            return
        stored: dict[str, list[ReplicateRecord]] = {}
        for record in result.records:
            stored.setdefault(record.condition, []).append(record)
        for condition, count in list(self.counts.items()):
            records = stored.get(condition, [])
            done = max(count.done, len(records))
            errors = sum(1 for r in records if r.error is not None)
            self._set(condition, done, errors, max(count.total, done))

    def _set(self, condition: str, done: int, errors: int, total: int, jump: bool = False) -> None:
        """New counts for ``condition``, kept in the totals, then displayed."""
        count = self.counts.setdefault(condition, ConditionCount(0))
        self.done += done - count.done
        self.errors += errors - count.errors
        self.total += total - count.total
        count.done, count.errors, count.total = done, errors, total
        self.display(self.show, condition, jump)

    def show(self, condition: str, jump: bool = False) -> None:
        """Display the change of ``condition``'s counts (no-op here; see the subclasses).
        ``jump``: replicates found in the store, not a step at the run's pace."""

    def display(self, action: Callable[..., object], *args: object) -> None:
        """``action(*args)``, a display step that must never stop the run: when it fails
        (an output gone or broken), the display is turned off with a warning on stderr."""
        if self.broken:
            return
        try:
            action(*args)
        except Exception as exc:
            self.broken = True
            with suppress(Exception):
                print(
                    printable(f"warning: the progress display failed ({type(exc).__name__}: {exc}); "
                              "the run goes on without it."),
                    file=sys.stderr,
                )


class _LiveTracker(Tracker):
    """One bar per condition while they fit in ``bars``; past that, one bar for the whole
    run and below it the conditions that advanced last (the others' bars hidden). The
    description column shows names literally (no markup), in ``label_width`` cells."""

    def __init__(
        self, name: str, conditions: Sequence[str], replicates: int, progress: Any, bars: int, label_width: int
    ) -> None:
        super().__init__(name, conditions, replicates)
        self.progress = progress
        self.label_width = label_width
        wide = len(self.counts) > bars
        overall = f"all {len(self.counts)} conditions"
        # The experiment's name is the same on every bar: shortened first (alike on all
        # of them), so that the condition names, which tell the bars apart, keep their room.
        longest = max(_cells(printable(label)) for label in [*self.counts, overall if wide else ""])
        shown = printable(name)
        if _cells(shown) + len(" · ") + longest > label_width:
            shown = _shorten(shown, max(2, label_width - len(" · ") - longest))
        self.shown_name = shown
        self.overall = self._add_task(overall, self.total) if wide else None
        self.rows = bars - 1  # condition bars a wide run shows at most
        self.shown: dict[str, Any] = {}  # those shown, the condition that advanced last at the end
        self.tasks = {condition: self._add_task(condition, replicates, visible=not wide) for condition in self.counts}

    def _add_task(self, label: str, total: int, visible: bool = True) -> Any:
        description = _shorten(f"{self.shown_name} · {printable(label)}", self.label_width)
        return self.progress.add_task(description, total=total, errors=0, visible=visible)

    def resume(self, records: Iterable[ReplicateRecord]) -> None:
        # Rich redraws at each bar's reset: here once for them all.
        self.progress.disable = True
        try:
            super().resume(records)
        finally:
            self.progress.disable = False
        self.display(self.progress.refresh)

    def show(self, condition: str, jump: bool = False) -> None:
        count = self.counts[condition]
        task = self.tasks.get(condition)
        if task is None:
            task = self.tasks[condition] = self._add_task(condition, count.total, visible=self.overall is None)
        self._update(task, count.done, count.total, count.errors, jump)
        if self.overall is not None:
            if not jump:  # what the store held is no news: it brings up no bar
                self._bring_up(condition, task)
            self._update(self.overall, self.done, self.total, self.errors, jump)

    def _update(self, task: Any, done: int, total: int, errors: int, jump: bool) -> None:
        if not jump:
            self.progress.update(task, completed=done, total=total, errors=errors)
            return
        # Rich estimates a bar's time left from its recent steps, and would take the
        # stored replicates for one (a short ETA): a reset sets the count without a step.
        self.progress.reset(task, completed=done, total=total, errors=errors)
        self.progress.update(task)  # a bar complete by now shows finished

    def _bring_up(self, condition: str, task: Any) -> None:
        """Show ``condition``'s bar, hiding the bar of the condition that advanced longest ago."""
        self.shown.pop(condition, None)
        self.shown[condition] = task
        self.progress.update(task, visible=True)
        if len(self.shown) > self.rows:
            self.progress.update(self.shown.pop(next(iter(self.shown))), visible=False)


class _PlainTracker(Tracker):
    """Plain lines; the status line at most every :data:`PLAIN_INTERVAL` seconds, when a
    record comes or, while none does, from a timer thread (see :meth:`close`)."""

    def __init__(self, name: str, conditions: Sequence[str], replicates: int, console: Console) -> None:
        super().__init__(name, conditions, replicates)
        self.console = console
        self.last = monotonic()  # when the last status line was due
        self.reported: set[str] = set()
        self._lock = threading.Lock()  # guards last, the timer and closed
        self._timer: tuple[threading.Thread, threading.Event] | None = None
        self._closed = False
        self.display(self._print, f"{name}: running {len(conditions)} condition(s) × {replicates} replicate(s)")
        _keep_timer(self)

    def _print(self, line: str) -> None:
        """One status line, its names shown literally."""
        self.console.print(printable(line), markup=False, highlight=False, soft_wrap=True)

    def show(self, condition: str, jump: bool = False) -> None:
        count = self.counts[condition]
        if count.done >= count.total and condition not in self.reported:
            self.reported.add(condition)
            self._print(f"{self.name} · {condition}: {count.done}/{count.total} done, {count.errors} error(s)")
            return
        if self._status_due():
            self._status()

    def _status_due(self) -> bool:
        """Whether the status line is due now (then the next is due in an interval)."""
        with self._lock:
            now = monotonic()
            if now - self.last < PLAIN_INTERVAL:
                return False
            self.last = now
            return True

    def _status(self) -> None:
        eta = self.eta()
        left = f", about {format_seconds(eta)} left" if eta is not None else ""
        self._print(f"{self.name}: {self.done}/{self.total} replicates done, {self.errors} error(s){left}")

    def close(self) -> None:
        """Stop the timer for good (the run's progress is over)."""
        with self._lock:
            self._closed = True
        with _timers_lock:
            _timers.discard(self)
        self.stop_timer()

    def start_timer(self) -> None:
        """Start the timer thread unless it runs or the tracker was closed."""
        with self._lock:
            if self._closed or self._timer is not None:
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._tick, args=(stop,), name=TIMER_THREAD, daemon=True)
            self._timer = thread, stop
            thread.start()

    def stop_timer(self) -> None:
        """End the timer thread and wait for it (it may be printing a line)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            thread, stop = timer
            stop.set()
            if thread is not threading.current_thread():
                thread.join()

    def _tick(self, stop: threading.Event) -> None:
        """The timer: the status line whenever one is due, until ``stop``."""
        while not self.broken:
            with self._lock:
                wait = self.last + PLAIN_INTERVAL - monotonic()
            if stop.wait(max(0.0, wait)):
                return
            if self._status_due():
                self.display(self._status)


# Plain trackers whose timer runs (or is paused for a fork), and whether the pausing
# around forks is registered (at the first one: only a run imports the store).
_timers: set[_PlainTracker] = set()
_timers_lock = threading.Lock()
_timers_pausable = False


def _keep_timer(tracker: _PlainTracker) -> None:
    """Start ``tracker``'s timer, now or (while threads are paused for a fork) when the
    pause ends."""
    global _timers_pausable
    from crystallize.store.checkpoint import on_fork_pause, start_unless_paused

    with _timers_lock:
        if not _timers_pausable:
            on_fork_pause(_pause_timers, _resume_timers)
            _timers_pausable = True
        _timers.add(tracker)
    start_unless_paused(tracker.start_timer)  # not under _timers_lock: a pause takes both


def _pause_timers() -> None:
    with _timers_lock:
        trackers = list(_timers)
    for tracker in trackers:
        tracker.stop_timer()


def _resume_timers() -> None:
    with _timers_lock:
        trackers = list(_timers)
    for tracker in trackers:
        tracker.start_timer()


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes."""
    from rich.cells import cell_len

    return cell_len(text)


def _shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in ``…`` when shortened."""
    if _cells(text) <= width:
        return text
    from rich.text import Text

    short = Text(text)
    short.truncate(width, overflow="ellipsis")
    return short.plain


def draws_live(console: Console) -> bool:
    """True when ``console`` writes to a real terminal (its stream's ``isatty()``) that
    rich redraws, where a live bar can redraw. Not on a dumb terminal (``TERM=dumb``
    or ``unknown``): rich draws a live display there only once it ends. Rich's
    ``is_terminal`` alone is not enough: ``FORCE_COLOR`` (set by GitHub Actions,
    tox...) makes it true for a log file too."""
    from crystallize.cli.tui import is_terminal

    return is_terminal(console.file) and console.is_terminal and not console.is_dumb_terminal


def format_seconds(seconds: float) -> str:
    """``"42s"``, ``"3m 05s"`` or ``"1h 02m"``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _label_width(width: int, total: int, times: bool) -> int:
    """Cells a bar's label may take on a terminal ``width`` columns wide, leaving the
    counts (of up to ``total`` replicates), the errors, a short bar and (``times``) the
    elapsed time and time left their room."""
    digits = len(str(max(total, 1)))
    others = 3 + _BAR_MIN + (2 * digits + 1) + (digits + len(" err"))  # gaps, bar, 12/100, 3 err
    if times:
        others += len(" 0:00:00 ETA -:--:--")
    return max(_LABEL_MIN, width - others)


class RunProgress:
    """Shows the progress of one or more runs on ``console``.

    Args:
        console: where to draw (stdout normally, stderr with ``--json``).
        live: draw a live bar (default: when ``console`` writes to a terminal, see
            :func:`draws_live`).
        quiet: show nothing.

    Use :meth:`track` around the loop over a run's stream::

        with progress.track(name, conditions, replicates) as tracker:
            for record in stream:
                tracker.advance(record)
            tracker.finish(stream.result)
    """

    def __init__(self, console: Console, live: bool | None = None, quiet: bool = False) -> None:
        self.console = console
        self.live = draws_live(console) if live is None else live
        self.quiet = quiet

    @contextmanager
    def track(self, name: str, conditions: Sequence[str], replicates: int) -> Iterator[Tracker]:
        """A tracker for one run, shown while the ``with`` block lasts."""
        global _drawing
        if self.quiet:
            yield Tracker(name, conditions, replicates)
            return
        if not self.live:
            plain = _PlainTracker(name, conditions, replicates, self.console)
            try:
                yield plain
            finally:
                plain.close()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        # Chosen for the terminal's width when the run starts.
        width = self.console.width
        times = width >= TIMES_MIN_WIDTH
        labels = _label_width(width, replicates * len(conditions), times)
        columns: list[Any] = [
            # names are shown as they are, shortened to fit by _LiveTracker (the
            # column's own ellipsis is a last resort)
            TextColumn(
                "{task.description}", markup=False,
                table_column=Column(no_wrap=True, overflow="ellipsis", max_width=labels),
            ),
            BarColumn(bar_width=None, table_column=Column(max_width=_BAR_MAX)),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TextColumn("[red]{task.fields[errors]} err[/red]", table_column=Column(no_wrap=True)),
        ]
        if times:
            columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        progress = Progress(*columns, console=self.console, transient=False)
        # bars are added before the display starts: adding one redraws a started display
        tracker = _LiveTracker(name, conditions, replicates, progress, self.bars(), labels)
        with progress:
            _drawing = progress.live  # forks now wait for its redraws (_before_fork)
            try:
                yield tracker
            finally:
                _drawing = None

    def bars(self) -> int:
        """Bars to draw at most: the terminal's height less a line, at most :data:`MAX_BARS`."""
        return max(2, min(MAX_BARS, self.console.height - 1))


# -- forks while the live display draws ---------------------------------------------------

#: The rich ``Live`` display drawing now (``None`` when none is).
_drawing: Any = None
#: From just before a fork to just after it: the display's locks taken for it.
_taken: list[Any] | None = None


def _before_fork() -> None:
    """Wait for the display's redraw under way and hold its locks over the fork, so the
    child copies them free of any other thread: the display's (its refresh thread holds it
    while drawing, and the proxies of ``sys.stdout``/``sys.stderr`` take it) and the
    console's (held while it writes). Rich takes them in this order too.

    The wait lasts one redraw at most. Python ignores an exception raised here, so a
    Ctrl+C arriving during it is lost and the fork goes on without the locks (as it did
    before this hook)."""
    global _taken
    live = _drawing
    if live is None:
        return
    held: list[Any] = []
    try:
        for lock in (live._lock, live.console._lock):
            lock.acquire()
            held.append(lock)
    except BaseException:  # Ctrl+C while waiting: give back what was taken
        for lock in reversed(held):
            lock.release()
        raise
    _taken = held


def _after_fork_in_parent() -> None:
    global _taken
    taken, _taken = _taken, None
    if taken is not None:
        for lock in reversed(taken):
            lock.release()


def _after_fork_in_child() -> None:
    """The child gets the display's locks free. It goes on printing through its copy of
    the display, as the parent does: each line it prints is drawn above a copy of the
    bars, which the parent's next redraw replaces. (Giving it back plain streams
    instead would let the parent's redraws erase its lines from the screen.)"""
    global _drawing, _taken
    taken, _taken = _taken, None
    _drawing = None  # this process draws nothing of its own
    if taken is not None:
        for lock in reversed(taken):  # RLocks held by this thread, the one that forked
            lock.release()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


__all__ = [
    "MAX_BARS",
    "PLAIN_INTERVAL",
    "TIMER_THREAD",
    "TIMES_MIN_WIDTH",
    "ConditionCount",
    "RunProgress",
    "Tracker",
    "draws_live",
    "format_seconds",
]
