"""Live progress of a run: a rich progress bar on a terminal, plain lines otherwise.

One bar per condition shows the replicates done, the errors so far and the time
remaining. When the conditions do not fit the terminal, one bar shows the whole run and
the bars below it the conditions that advanced last, so a redraw costs the same for
hundreds of conditions as for a few. When the output is not a terminal (a pipe, a CI
log) the same information comes as plain lines: one when the run starts, one when each
condition finishes, and a status line at most every few seconds in between. That is
decided by the output itself (``isatty()``), not by rich: ``FORCE_COLOR`` (which CI
systems set) makes rich treat any output as a terminal, and a live bar redrawn into a
log file fills it with cursor movements.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
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


class ConditionCount:
    """Replicates done and failed for one condition."""

    __slots__ = ("done", "errors", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.errors = 0


class Tracker:
    """Counts records per condition and shows them (see :class:`RunProgress`).

    ``done``, ``total`` and ``errors`` hold the counts of every condition together.
    """

    def __init__(self, name: str, conditions: Sequence[str], replicates: int) -> None:
        self.name = name
        self.counts = {condition: ConditionCount(replicates) for condition in conditions}
        self.done = 0
        self.errors = 0
        self.total = replicates * len(self.counts)
        self.started = time.monotonic()
        self.broken = False  # the display failed once: show nothing more

    def eta(self) -> float | None:
        """Seconds left at the pace so far (``None`` before the first record)."""
        done = self.done
        if done == 0:
            return None
        elapsed = time.monotonic() - self.started
        return max(0.0, elapsed / done * (self.total - done))

    def advance(self, record: ReplicateRecord) -> None:
        """Count one finished replicate."""
        count = self.counts.get(record.condition) or ConditionCount(0)
        errors = count.errors + (record.error is not None)
        self._set(record.condition, count.done + 1, errors, max(count.total, count.done + 1))

    def finish(self, result: Result | None) -> None:
        """Account for replicates resumed from the store (they are not streamed)."""
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

    def _set(self, condition: str, done: int, errors: int, total: int) -> None:
        """New counts for ``condition``, kept in the totals, then displayed."""
        count = self.counts.setdefault(condition, ConditionCount(0))
        self.done += done - count.done
        self.errors += errors - count.errors
        self.total += total - count.total
        count.done, count.errors, count.total = done, errors, total
        self.display(self.show, condition)

    def show(self, condition: str) -> None:
        """Display the change (no-op here; see the subclasses)."""

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
    description column shows names literally (no markup)."""

    def __init__(self, name: str, conditions: Sequence[str], replicates: int, progress: Any, bars: int) -> None:
        super().__init__(name, conditions, replicates)
        self.progress = progress
        wide = len(self.counts) > bars
        self.overall = self._add_task(f"all {len(self.counts)} conditions", self.total) if wide else None
        self.rows = bars - 1  # condition bars a wide run shows at most
        self.shown: dict[str, Any] = {}  # those shown, the condition that advanced last at the end
        self.tasks = {condition: self._add_task(condition, replicates, visible=not wide) for condition in self.counts}

    def _add_task(self, label: str, total: int, visible: bool = True) -> Any:
        return self.progress.add_task(printable(f"{self.name} · {label}"), total=total, errors=0, visible=visible)

    def show(self, condition: str) -> None:
        count = self.counts[condition]
        task = self.tasks.get(condition)
        if task is None:
            task = self.tasks[condition] = self._add_task(condition, count.total, visible=self.overall is None)
        self.progress.update(task, completed=count.done, total=count.total, errors=count.errors)
        if self.overall is not None:
            self._bring_up(condition, task)
            self.progress.update(self.overall, completed=self.done, total=self.total, errors=self.errors)

    def _bring_up(self, condition: str, task: Any) -> None:
        """Show ``condition``'s bar, hiding the bar of the condition that advanced longest ago."""
        self.shown.pop(condition, None)
        self.shown[condition] = task
        self.progress.update(task, visible=True)
        if len(self.shown) > self.rows:
            self.progress.update(self.shown.pop(next(iter(self.shown))), visible=False)


class _PlainTracker(Tracker):
    def __init__(self, name: str, conditions: Sequence[str], replicates: int, console: Console) -> None:
        super().__init__(name, conditions, replicates)
        self.console = console
        self.last = time.monotonic()
        self.reported: set[str] = set()
        self.display(self._print, f"{name}: running {len(conditions)} condition(s) × {replicates} replicate(s)")

    def _print(self, line: str) -> None:
        """One status line, its names shown literally."""
        self.console.print(printable(line), markup=False, highlight=False, soft_wrap=True)

    def show(self, condition: str) -> None:
        count = self.counts[condition]
        if count.done >= count.total and condition not in self.reported:
            self.reported.add(condition)
            self._print(f"{self.name} · {condition}: {count.done}/{count.total} done, {count.errors} error(s)")
            return
        now = time.monotonic()
        if now - self.last >= PLAIN_INTERVAL:
            self.last = now
            eta = self.eta()
            left = f", about {format_seconds(eta)} left" if eta is not None else ""
            self._print(f"{self.name}: {self.done}/{self.total} replicates done, {self.errors} error(s){left}")


def draws_live(console: Console) -> bool:
    """True when ``console`` writes to a real terminal (its stream's ``isatty()``), where a
    live bar can redraw. Rich's ``is_terminal`` is not asked: ``FORCE_COLOR`` (set by
    GitHub Actions, tox...) makes it true for a log file too."""
    from crystallize.cli.tui import is_terminal

    return is_terminal(console.file)


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
        if self.quiet:
            yield Tracker(name, conditions, replicates)
            return
        if not self.live:
            yield _PlainTracker(name, conditions, replicates, self.console)
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("{task.description}", markup=False),  # names are shown as they are
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[errors]} err[/red]"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        progress = Progress(*columns, console=self.console, transient=False)
        # bars are added before the display starts: adding one redraws a started display
        tracker = _LiveTracker(name, conditions, replicates, progress, self.bars())
        with progress:
            yield tracker

    def bars(self) -> int:
        """Bars to draw at most: the terminal's height less a line, at most :data:`MAX_BARS`."""
        return max(2, min(MAX_BARS, self.console.height - 1))


__all__ = ["MAX_BARS", "PLAIN_INTERVAL", "ConditionCount", "RunProgress", "Tracker", "draws_live", "format_seconds"]
