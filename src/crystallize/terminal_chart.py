"""Per-condition distributions in the terminal, drawn with unicode characters.

Each condition gets two lines on a shared axis: a histogram of its replicate values
(block heights ``▁``–``█``) and a box line (``─`` whiskers from min to max, ``░`` box
over the quartiles, ``┃`` median, ``◆`` mean), followed by the mean, its 95% CI and n::

    score
     condition  distribution                 mean    95% CI            n
     baseline   ▂  ▅ █ ▂                     0.187   [-0.448, 0.822]  12
                ──░░┃░◆░──────
     treated             ▂ ▅█ ▂              2.14    [1.44, 2.83]     11
                       ───░┃◆░░───────

On an output whose encoding lacks these characters (ASCII, latin-1, cp1252) they are
drawn with ASCII stand-ins (see :func:`for_encoding`): ``._-:=+*#`` for the block
heights, ``-`` whiskers, ``=`` box, ``|`` median and ``o`` mean.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import MissingMetricError
from crystallize.utils.text import one_line

if TYPE_CHECKING:
    from crystallize.reporting_html.summary import ConditionSummary
    from crystallize.result import Result

_LEVELS = "▁▂▃▄▅▆▇█"
WHISKER, BOX, MEDIAN, MEAN = "─", "░", "┃", "◆"

#: ASCII stand-ins for the symbols Crystallize prints, used on outputs that cannot
#: encode them; the chart's characters keep their width (one column each).
ASCII_SYMBOLS = {
    **dict(zip(_LEVELS, "._-:=+*#", strict=True)),
    WHISKER: "-", BOX: "=", MEDIAN: "|", MEAN: "o",
    "×": "x", "·": "-", "±": "+/-", "→": "->", "…": "...", "−": "-", "∞": "inf",
}


@functools.lru_cache(maxsize=1024)
def _stand_in(char: str, encoding: str, errors: str) -> str:
    """``char`` if ``encoding`` can write it, else its ASCII stand-in, else ``?`` (``??``
    for a character two columns wide, so that columns stay aligned)."""
    from rich.cells import cell_len

    try:
        char.encode(encoding, errors)
    except UnicodeEncodeError:
        return ASCII_SYMBOLS.get(char) or "?" * max(1, cell_len(char))
    return char


def for_encoding(text: str, encoding: str | None, errors: str = "strict") -> str:
    """``text`` made writable to an output in ``encoding`` (with error handler ``errors``):
    each character the encoding lacks becomes its ASCII stand-in (``→`` ``->``, ``±``
    ``+/-``, ``×`` ``x``, ``█`` ``#``, ... see :data:`ASCII_SYMBOLS`), any other ``?``
    (``??`` when it is two columns wide: CJK, emoji).

    ``text`` is returned unchanged when the encoding can write it all, or is unknown
    (``None`` or a name Python does not know).
    """
    if not encoding:
        return text
    try:
        text.encode(encoding, errors)
    except UnicodeEncodeError:
        return "".join(_stand_in(char, encoding, errors) for char in text)
    except LookupError:  # an encoding (or error handler) Python does not know
        return text
    return text


def _fmt(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.2e}"
    return f"{value:.4g}"


class _Scale:
    """Maps values in ``[low, high]`` to columns ``0 .. width - 1``."""

    def __init__(self, low: float, high: float, width: int) -> None:
        self.low, self.high, self.width = low, high, width

    def column(self, value: float) -> int:
        if self.high <= self.low:
            return self.width // 2
        # In halves (exact): the difference of two finite values of opposite sign can
        # overflow; an end beyond the floats (an infinite CI) goes to the edge.
        position = (value / 2 - self.low / 2) / (self.high / 2 - self.low / 2) * (self.width - 1)
        if math.isnan(position):
            return self.width // 2
        if math.isinf(position):
            return self.width - 1 if position > 0 else 0
        return min(self.width - 1, max(0, round(position)))


def histogram_line(values: Sequence[float], scale: _Scale) -> str:
    """One character per column: block height ∝ the number of values in that column."""
    counts = [0] * scale.width
    for value in values:
        counts[scale.column(value)] += 1
    peak = max(counts) or 1
    return "".join(
        _LEVELS[max(0, round(c / peak * len(_LEVELS)) - 1)] if c else " " for c in counts
    )


def box_line(summary: ConditionSummary, scale: _Scale) -> str:
    """Whiskers (min to max), the quartile box, the median and the mean on one line."""
    chars = [" "] * scale.width
    for col in range(scale.column(summary.minimum), scale.column(summary.maximum) + 1):
        chars[col] = WHISKER
    for col in range(scale.column(summary.q1), scale.column(summary.q3) + 1):
        chars[col] = BOX
    chars[scale.column(summary.median)] = MEDIAN
    chars[scale.column(summary.mean)] = MEAN
    return "".join(chars)


#: Widest and narrowest distribution column; ``width=None`` fits the console between them.
MAX_WIDTH, MIN_WIDTH = 60, 10
_HEADERS = ("condition", "mean", "95% CI", "n")
_GAP = 2  # rich puts two spaces between neighbouring columns here


def _row_cells(s: ConditionSummary) -> tuple[str, str, str, str]:
    """The text columns of a row; the condition's control characters escaped (``-`` for
    the mean of a condition with no finite numbers)."""
    ci = f"[{_fmt(s.ci[0])}, {_fmt(s.ci[1])}]" if s.ci else "-"
    return one_line(s.condition), _fmt(s.mean) if s.n else "-", ci, str(s.n)


def _column_widths(sections: list[tuple[str, list[ConditionSummary]]], encoding: str | None) -> list[int]:
    """The display width of each text column (condition, mean, CI, n) over every row."""
    from rich.cells import cell_len

    rows = [_row_cells(s) for _, summaries in sections for s in summaries] + [_HEADERS]
    return [max(cell_len(for_encoding(row[i], encoding)) for row in rows) for i in range(len(_HEADERS))]


def _fitted_width(sections: list[tuple[str, list[ConditionSummary]]], available: int, encoding: str | None = None) -> int | None:
    """The distribution column's width that leaves room for the text columns (at most
    :data:`MAX_WIDTH`). When the condition names are too long for it to get
    :data:`MIN_WIDTH`, they wrap (see :func:`_metric_table`) over as few lines as leave
    it that much, each line as long as the others, the column no narrower than
    :data:`_MIN_NAME_WIDTH`; the distribution gets the rest. ``None`` when even that
    leaves less than ``MIN_WIDTH``: the column is then left out, so that the numbers are
    never cut."""
    widths = _column_widths(sections, encoding)
    names = widths[0]
    room = available - sum(widths[1:]) - _GAP * len(_HEADERS)  # for the names and the distribution
    if room - names >= MIN_WIDTH:
        return min(MAX_WIDTH, room - names)
    widest = room - MIN_WIDTH  # the widest the wrapped names may be
    if widest < _MIN_NAME_WIDTH:
        return None
    lines = -(-names // widest)
    return min(MAX_WIDTH, room - max(_MIN_NAME_WIDTH, -(-names // lines)))


#: The condition column's narrowest width when long names wrap (no distribution column).
_MIN_NAME_WIDTH = 12
_NO_VALUES, _NO_VALUES_SHORT = "no numeric values", "no numbers"


def _metric_table(
    metric: str,
    summaries: list[ConditionSummary],
    width: int | None,
    widths: list[int],
    encoding: str | None,
    available: int | None = None,
) -> Any:
    """One metric's table; ``width`` is the distribution column's (``None``: no such
    column); the mean, CI and n columns are never narrower than ``widths`` (their
    text), nor the condition column, except on a console ``available`` columns wide
    that the table would not fit: a long condition name then wraps (to no less than
    :data:`_MIN_NAME_WIDTH`) to fit beside the distribution and the numbers. A condition
    with no finite numbers (``n`` 0) gets a row saying so."""
    from rich.table import Table
    from rich.text import Text

    def text(value: str, style: str = "") -> Text:  # never markup, always writable
        return Text(for_encoding(value, encoding), style=style)

    table = Table(
        title=text(one_line(metric), "bold"), title_justify="left", box=None, pad_edge=False, show_edge=False
    )
    numbers = sum(widths[1:]) + _GAP * (len(_HEADERS) - 1)
    if width is not None:
        numbers += width + _GAP  # the distribution column
    if available is not None and widths[0] + numbers > available:
        name_width = max(_MIN_NAME_WIDTH, available - numbers)  # wraps, never cut
        table.add_column("condition", overflow="fold", min_width=name_width, max_width=name_width)
    else:
        table.add_column("condition", no_wrap=True, min_width=widths[0])  # names are never cut either
    if width is not None:
        chart_header = "distribution" if width >= len("distribution") else "distrib."  # never cut either
        table.add_column(chart_header, no_wrap=True, min_width=width, max_width=width)
    for header, min_width in zip(_HEADERS[1:], widths[1:], strict=True):
        table.add_column(header, justify="left" if header == "95% CI" else "right", no_wrap=True, min_width=min_width)
    plotted = [s for s in summaries if s.n]
    low = min(s.minimum for s in plotted)
    high = max(s.maximum for s in plotted)
    scale = _Scale(low, high, width or MIN_WIDTH)
    for s in summaries:
        cells = [text(cell) for cell in _row_cells(s)]
        if width is not None:
            if s.n:
                cells.insert(1, _chart_cell(s, scale, encoding))
            else:
                note = _NO_VALUES if width >= len(_NO_VALUES) else _NO_VALUES_SHORT
                cells.insert(1, text(f"{note}", "dim"))
        table.add_row(*cells)
    if width is not None:
        table.add_row("", text(_axis(low, high, width), "dim"), "", "", "")
    return table


def _axis(low: float, high: float, width: int) -> str:
    """The axis under the distribution column (``width`` wide): ``low`` at its left end,
    ``high`` at its right. When the two do not fit on one line, ``high`` goes on a
    second line, right-aligned: a number is never cut (each fits the column's
    :data:`MIN_WIDTH`)."""
    left, right = _fmt(low), _fmt(high)
    if len(left) + 1 + len(right) <= width:
        return left + " " * (width - len(left) - len(right)) + right
    return left + "\n" + " " * max(0, width - len(right)) + right


def _chart_cell(s: ConditionSummary, scale: _Scale, encoding: str | None) -> Any:
    """The histogram line over the box line, in colour, in characters ``encoding`` has."""
    from rich.text import Text

    chart = Text(no_wrap=True)
    chart.append(for_encoding(histogram_line(s.values, scale), encoding), style="cyan")
    chart.append("\n")
    line = box_line(s, scale)
    mean_at = line.index(MEAN)
    chart.append(for_encoding(line[:mean_at], encoding), style="grey58")
    chart.append(for_encoding(MEAN, encoding), style="bold #D55E00")
    chart.append(for_encoding(line[mean_at + 1 :], encoding), style="grey58")
    return chart


_UNBOUNDED = 1_000_000  # a width no table reaches: measures its columns' own minimums


class WholeTable:
    """A rich table drawn whole: never narrower than its columns' minimum widths, and
    without the spaces that pad the ends of its lines.

    On a console too narrow for a table, rich shrinks every column evenly and leaves out
    those that reach nothing (a table could lose the names its numbers belong to). Drawn
    as a ``WholeTable``, the lines are longer than the console instead: print it with
    ``crop=False`` so that the terminal wraps them rather than anything being cut. Give
    the columns that must not wrap ``no_wrap`` and a ``min_width``, and those that wrap
    a ``min_width`` of their longest word (see :mod:`crystallize.cli.text`).
    """

    def __init__(self, table: Any) -> None:
        self.table = table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """The table's lines at ``max(console width, what the table needs)``, right-stripped."""
        from rich.measure import Measurement
        from rich.segment import Segment

        needed = Measurement.get(console, options.update_width(_UNBOUNDED), self.table).minimum
        rendered = console.render(self.table, options.update_width(max(options.max_width, needed)))
        for line in Segment.split_lines(rendered):
            yield from _rstripped(line)
            yield Segment.line()


def _rstripped(line: list[Any]) -> list[Any]:
    """``line`` (rich segments) without the spaces at its end."""
    from rich.segment import Segment

    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip(" "):
        line.pop()
    if line and not line[-1].control:
        text, style, control = line[-1]
        line[-1] = Segment(text.rstrip(" "), style, control)
    return line


class TerminalChart:
    """The renderable :func:`terminal_chart` returns: one table per metric, drawn when
    printed, so that ``width=None`` can fit the console it is printed on."""

    def __init__(self, sections: list[tuple[str, list[ConditionSummary]]], width: int | None) -> None:
        self.sections = sections
        self.width = width

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """Yield each metric's table (or a note when it has no numeric values), in
        characters the console's encoding has."""
        from rich.text import Text

        encoding = options.encoding
        width = self.width or _fitted_width(self.sections, options.max_width, encoding)
        widths = _column_widths(self.sections, encoding)
        for name, summaries in self.sections:
            if any(s.n for s in summaries):
                yield WholeTable(_metric_table(name, summaries, width, widths, encoding, options.max_width))
            else:
                skipped = sum(s.skipped for s in summaries)
                note = f" ({skipped} non-finite or non-numeric value(s) skipped)" if skipped else ""
                yield Text(for_encoding(f"{one_line(name)}: no numeric values{note}", encoding), style="dim")
            yield Text("")
        if not self.sections:
            yield Text("No metrics were recorded.", style="dim")


def terminal_chart(result: Result, metric: str | None = None, width: int | None = None) -> TerminalChart:
    """A rich renderable showing each condition's distribution of a metric.

    Print it with ``rich.console.Console().print(terminal_chart(result))``.

    Args:
        result: the Result to chart.
        metric: the metric to show; ``None`` shows every metric with numeric values.
        width: characters used for the distribution column (at least 10); ``None``
            fits the console the chart is printed on, up to 60, leaving room for the
            condition, mean, CI and n columns (long condition names wrap within
            their column, at least 12 wide, to leave the distribution 10 or more; on
            a console too narrow for 10 even then, the distribution is left out:
            names and numbers are never cut; on a console narrower still, the lines
            are longer than it: print with ``crop=False`` to keep them whole).

    Returns:
        A rich renderable of one table per metric.

    Raises:
        MissingMetricError: ``metric`` was recorded by no condition (the message lists
            the recorded metrics).
        ValueError: ``width`` is below 10.
    """
    from crystallize.reporting_html.summary import metric_names, metric_summaries

    if width is not None and width < MIN_WIDTH:
        raise ValueError(f"terminal_chart width must be at least {MIN_WIDTH} characters, got {width}")
    names = metric_names(result)
    if metric is not None and metric not in names:
        known = ", ".join(names) or "none"
        raise MissingMetricError(f"No condition recorded metric '{metric}' (recorded: {known}).")
    sections = [(name, metric_summaries(result, name, include_empty=True)) for name in ([metric] if metric is not None else names)]
    return TerminalChart(sections, width)


def render_terminal_chart(result: Result, metric: str | None = None, width: int = 60) -> str:
    """:func:`terminal_chart` rendered to plain text (no colours), e.g. for logs.

    Args:
        result: the Result to chart.
        metric: the metric to show; ``None`` shows every metric.
        width: characters used for the distribution column.

    Returns:
        The chart as text.
    """
    from rich.console import Console

    console = Console(width=width + 120, record=True, file=io.StringIO(), color_system=None)
    console.print(terminal_chart(result, metric, width))
    return console.export_text()


__all__ = ["ASCII_SYMBOLS", "TerminalChart", "WholeTable", "box_line", "for_encoding", "histogram_line", "render_terminal_chart", "terminal_chart"]
