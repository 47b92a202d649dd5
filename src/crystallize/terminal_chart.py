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
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import MissingMetricError
from crystallize.reporting_html.summary import ConditionSummary, metric_names, metric_summaries
from crystallize.utils.text import printable

if TYPE_CHECKING:
    from crystallize.result import Result

_LEVELS = "▁▂▃▄▅▆▇█"
WHISKER, BOX, MEDIAN, MEAN = "─", "░", "┃", "◆"


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
        position = (value - self.low) / (self.high - self.low) * (self.width - 1)
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
_GAPS = 2 * len(_HEADERS)  # rich puts two spaces between neighbouring columns here


def _row_cells(s: ConditionSummary) -> tuple[str, str, str, str]:
    """The text columns of a row; the condition's control characters escaped."""
    ci = f"[{_fmt(s.ci[0])}, {_fmt(s.ci[1])}]" if s.ci else "-"
    return printable(s.condition), _fmt(s.mean), ci, str(s.n)


def _fitted_width(sections: list[tuple[str, list[ConditionSummary]]], available: int) -> int:
    """The distribution column's width that leaves room for the text columns."""
    rows = [_row_cells(s) for _, summaries in sections for s in summaries] + [_HEADERS]
    text = sum(max(len(row[i]) for row in rows) for i in range(len(_HEADERS)))
    return max(MIN_WIDTH, min(MAX_WIDTH, available - text - _GAPS))


def _metric_table(metric: str, summaries: list[ConditionSummary], width: int) -> Any:
    from rich.table import Table
    from rich.text import Text

    low = min(s.minimum for s in summaries)
    high = max(s.maximum for s in summaries)
    scale = _Scale(low, high, width)
    table = Table(
        title=Text(printable(metric), style="bold"), title_justify="left", box=None, pad_edge=False, show_edge=False
    )
    table.add_column("condition", no_wrap=True)
    table.add_column("distribution", no_wrap=True, min_width=width, max_width=width)
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("95% CI", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    for s in summaries:
        chart = Text(no_wrap=True)
        chart.append(histogram_line(s.values, scale), style="cyan")
        chart.append("\n")
        line = box_line(s, scale)
        mean_at = line.index(MEAN)
        chart.append(line[:mean_at], style="grey58")
        chart.append(MEAN, style="bold #D55E00")
        chart.append(line[mean_at + 1 :], style="grey58")
        condition, mean, ci, n = _row_cells(s)
        table.add_row(Text(condition), chart, Text(mean), Text(ci), Text(n))  # Text: never markup
    left, right = _fmt(low), _fmt(high)
    axis = left + " " * max(1, width - len(left) - len(right)) + right
    table.add_row("", Text(axis[: max(width, len(axis))], style="dim"), "", "", "")
    return table


class TerminalChart:
    """The renderable :func:`terminal_chart` returns: one table per metric, drawn when
    printed, so that ``width=None`` can fit the console it is printed on."""

    def __init__(self, sections: list[tuple[str, list[ConditionSummary]]], width: int | None) -> None:
        self.sections = sections
        self.width = width

    def __rich_console__(self, console: Any, options: Any) -> Any:
        """Yield each metric's table (or a note when it has no numeric values)."""
        from rich.text import Text

        width = self.width or _fitted_width(self.sections, options.max_width)
        for name, summaries in self.sections:
            yield _metric_table(name, summaries, width) if summaries else Text(
                f"{printable(name)}: no numeric values", style="dim"
            )
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
            mean, CI and n columns.

    Returns:
        A rich renderable of one table per metric.

    Raises:
        MissingMetricError: ``metric`` was recorded by no condition (the message lists
            the recorded metrics).
        ValueError: ``width`` is below 10.
    """
    if width is not None and width < MIN_WIDTH:
        raise ValueError(f"terminal_chart width must be at least {MIN_WIDTH} characters, got {width}")
    names = metric_names(result)
    if metric is not None and metric not in names:
        known = ", ".join(names) or "none"
        raise MissingMetricError(f"No condition recorded metric '{metric}' (recorded: {known}).")
    sections = [(name, metric_summaries(result, name)) for name in ([metric] if metric is not None else names)]
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


__all__ = ["TerminalChart", "box_line", "histogram_line", "render_terminal_chart", "terminal_chart"]
