"""The run screen's log: a RichLog that wraps its lines again when its width changes."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import RichLog

#: After a resize, this many of the newest rows are wrapped again (about 0.1 s here);
#: older ones keep the width they were written at (scrolled far back, rarely looked at).
REWRAP_ROWS = 1000
#: A resize waits this long for the next one before wrapping again (a terminal being
#: dragged to a new size sends many).
REWRAP_DELAY = 0.15


class _Kept:
    """A text the log shows: its number of lines, and of rows when last wrapped (``None``
    until the log knows its size)."""

    __slots__ = ("text", "lines", "rows")

    def __init__(self, text: Text, lines: int) -> None:
        self.text = text
        self.lines = lines
        self.rows: int | None = None


class RewrappingLog(RichLog):
    """A log of plain text that keeps what it shows, so that after the terminal is
    resized its newest :data:`REWRAP_ROWS` rows wrap at the new width too (a RichLog
    keeps lines as rendered: cut at the edge after narrowing, short after widening).

    It keeps the texts behind at most ``max_lines`` lines (a text of several lines counts
    each). Write with :meth:`add`; :meth:`clear` forgets them.
    """

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        # min_width=1: wrap at the pane's width (RichLog's default of 78 columns would cut
        # wrapped lines off at the edge of a narrow pane)
        super().__init__(id=id, max_lines=max_lines, wrap=True, markup=False, min_width=1)
        self._kept: deque[_Kept] = deque()
        self._kept_lines = 0
        self._wrapped_at = 0  # the width the rows were last wrapped at (0: none yet)
        self._pending: Timer | None = None

    def add(self, text: Text, width: int | None = None) -> None:
        """Append ``text`` (wrapped at ``width``, else at the log's width) and keep it."""
        kept = _Kept(text, text.plain.count("\n") + 1)
        self._kept.append(kept)
        self._kept_lines += kept.lines
        limit = self.max_lines or 0
        while limit and self._kept_lines - self._kept[0].lines >= limit:
            self._kept_lines -= self._kept.popleft().lines
        self._write(kept, width)

    def _write(self, kept: _Kept, width: int | None = None, scroll_end: bool | None = None) -> None:
        if not self._size_known:  # RichLog defers the write: its rows are not known yet
            self.write(kept.text, width=width)
            return
        before = self._start_line + len(self.lines)  # rows ever written (trimmed ones too)
        self.write(kept.text, width=width, scroll_end=scroll_end)
        kept.rows = self._start_line + len(self.lines) - before

    def clear(self) -> RewrappingLog:
        """Empty the log and forget what it showed."""
        self._kept.clear()
        self._kept_lines = 0
        super().clear()
        return self

    def on_resize(self, event: Resize) -> None:
        """Wrap again once the width settles (RichLog's own handler runs too: it writes
        what was written before the first size was known)."""
        width = event.size.width
        if not width or width == self._wrapped_at:  # 0: hidden by the other tab
            return
        first = not self._wrapped_at
        self._wrapped_at = width
        if self._pending is not None:
            self._pending.stop()
        self._pending = None if first else self.set_timer(REWRAP_DELAY, self.rewrap)

    def rewrap(self) -> None:
        """Render the newest :data:`REWRAP_ROWS` rows' texts again at the log's current
        width, keeping the view at the end if it was there (else as far down)."""
        self._pending = None
        width = self.scrollable_content_region.width
        if not width or not self._size_known:
            return
        recent: list[_Kept] = []
        old_rows = 0
        for kept in reversed(self._kept):
            if kept.rows is None:  # written before the size was known: render them all
                recent, old_rows = list(reversed(self._kept)), len(self.lines)
                break
            recent.append(kept)
            old_rows += kept.rows
            if old_rows >= REWRAP_ROWS:
                break
        if not recent:
            return
        at_end = self.is_vertical_scroll_end
        share = self.scroll_y / self.max_scroll_y if self.max_scroll_y else 1.0
        older = self.lines[: max(0, len(self.lines) - old_rows)]
        RichLog.clear(self)
        self.lines.extend(older)
        self._widest_line_width = max((row.cell_length for row in older), default=0)
        for kept in reversed(recent):
            self._write(kept, width, scroll_end=False)  # a width given: not rendered twice to measure
        if at_end:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        else:
            self.scroll_to(y=round(share * self.max_scroll_y), animate=False, immediate=False)


__all__ = ["REWRAP_DELAY", "REWRAP_ROWS", "RewrappingLog"]
