"""Static SVG plots for the HTML report, drawn with matplotlib.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing global (the current figure, the interactive backend) is touched, so
rendering a report inside a notebook or a server leaves the user's plotting state alone.
SVG output uses matplotlib's non-interactive vector backend; text is drawn as paths so
the page needs no fonts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crystallize.reporting_html.summary import ComparisonRow, ConditionSummary

# Colours (colour-blind friendly: Okabe–Ito palette).
POINT = "#0072B2"
MEAN = "#D55E00"
BOX_FILL = "#E8EEF4"
BOX_EDGE = "#56687A"
SIGNIFICANT = "#009E73"
NOT_SIGNIFICANT = "#6B7280"

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _label(text: str) -> str:
    """Make a user string safe for matplotlib text (``$`` would start mathtext)."""
    return text.replace("$", r"\$")


@contextmanager
def _figure(width: float, height: float, salt: str) -> Iterator[Any]:
    import matplotlib  # a core dependency, imported only when a report is drawn
    from matplotlib.figure import Figure

    style = {
        "svg.fonttype": "path",
        "svg.hashsalt": salt,  # unique, stable element ids per figure
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "x",
        "grid.color": "#E5E7EB",
        "grid.linewidth": 0.8,
        "axes.axisbelow": True,
    }
    with matplotlib.rc_context(style):
        yield Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Any) -> str:
    """Serialize a figure as an inline ``<svg>`` element (no XML prolog, no metadata)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))
    return text.strip()


def _jitter(count: int, index: int) -> list[float]:
    """Deterministic vertical offsets in [-0.18, 0.18] spreading ``count`` points."""
    if count <= 1:
        return [0.0] * count
    # A golden-ratio sequence spreads points evenly without randomness.
    return [((i * 0.6180339887 + index * 0.37) % 1.0 - 0.5) * 0.36 for i in range(count)]


def distribution_plot(metric: str, summaries: Sequence[ConditionSummary], salt: str) -> str:
    """Strip + box plot of every condition's values with the mean and its 95% CI.

    Args:
        metric: the metric name (x-axis label).
        summaries: one summary per condition, drawn top to bottom in this order.
        salt: a string unique within the page, used to keep SVG element ids distinct.

    Returns:
        The plot as an ``<svg>`` element.
    """
    from matplotlib.patches import Rectangle

    rows = len(summaries)
    with _figure(9.0, 0.9 + 0.55 * rows, salt) as fig:
        ax = fig.add_subplot()
        for index, s in enumerate(summaries):
            y = rows - 1 - index
            ax.add_patch(Rectangle(
                (s.q1, y - 0.25), s.q3 - s.q1, 0.5,
                facecolor=BOX_FILL, edgecolor=BOX_EDGE, linewidth=0.9, zorder=1,
            ))
            ax.plot([s.median, s.median], [y - 0.25, y + 0.25], color=BOX_EDGE, linewidth=1.6, zorder=2)
            ax.plot([s.minimum, s.q1], [y, y], color=BOX_EDGE, linewidth=0.9, zorder=1)
            ax.plot([s.q3, s.maximum], [y, y], color=BOX_EDGE, linewidth=0.9, zorder=1)
            offsets = _jitter(s.n, index)
            ax.scatter(
                s.values, [y + o for o in offsets], s=14, color=POINT, alpha=0.55,
                linewidths=0, zorder=3, label="replicate" if index == 0 else None,
            )
            if s.ci is not None:
                ax.errorbar(
                    [s.mean], [y], xerr=[[s.mean - s.ci[0]], [s.ci[1] - s.mean]], fmt="none",
                    ecolor=MEAN, elinewidth=1.8, capsize=4, zorder=4,
                )
            ax.scatter(
                [s.mean], [y], marker="D", s=34, color=MEAN, edgecolors="white", linewidths=0.6,
                zorder=5, label="mean ± 95% CI" if index == 0 else None,
            )
        ax.set_yticks(range(rows), [_label(s.condition) for s in reversed(summaries)])
        ax.set_ylim(-0.7, rows - 0.3)
        ax.set_xlabel(_label(metric))
        low = min(min(s.minimum, s.ci[0] if s.ci else s.minimum) for s in summaries)
        high = max(max(s.maximum, s.ci[1] if s.ci else s.maximum) for s in summaries)
        pad = (high - low) * 0.05 or 0.5
        ax.set_xlim(low - pad, high + pad)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
        return to_svg(fig)


def forest_plot(rows: Sequence[ComparisonRow], salt: str) -> str | None:
    """Forest plot of each comparison's estimate and confidence interval.

    Rows without a confidence interval are left out; ``None`` when none has one. The
    point is the row's ``difference`` (the quantity the interval brackets); a
    vertical line marks zero, i.e. no difference from the baseline.

    Args:
        rows: comparisons of one metric of one hypothesis.
        salt: a string unique within the page (distinct SVG ids).
    """
    shown = [r for r in rows if r.ci is not None]
    if not shown:
        return None
    count = len(shown)
    with _figure(9.0, 0.8 + 0.45 * count, salt) as fig:
        ax = fig.add_subplot()
        for index, row in enumerate(shown):
            assert row.ci is not None
            y = count - 1 - index
            color = SIGNIFICANT if row.significant else NOT_SIGNIFICANT
            ax.plot(list(row.ci), [y, y], color=color, linewidth=2.2, solid_capstyle="butt")
            ax.plot([row.ci[0]] * 2, [y - 0.12, y + 0.12], color=color, linewidth=1.4)
            ax.plot([row.ci[1]] * 2, [y - 0.12, y + 0.12], color=color, linewidth=1.4)
            if row.difference is not None:
                ax.scatter([row.difference], [y], marker="s", s=36, color=color, zorder=3)
        ax.axvline(0.0, color="#111827", linewidth=0.9, linestyle="--")
        ax.set_yticks(range(count), [_label(r.treatment) for r in reversed(shown)])
        ax.set_ylim(-0.6, count - 0.4)
        kinds = {r.ci_of for r in shown if r.ci_of}
        levels = {r.ci_level for r in shown if r.ci_level}
        what = kinds.pop() if len(kinds) == 1 else "treatment − baseline"
        level = f"{levels.pop():.0%} CI" if len(levels) == 1 else "CI"
        ax.set_xlabel(_label(f"{shown[0].metric}: {what} ({level})"))
        return to_svg(fig)


__all__ = ["distribution_plot", "forest_plot", "to_svg"]
