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

#: At most this many values per condition are drawn as strip points (see :func:`strip_sample`).
MAX_STRIP_POINTS = 200
#: Strip points of a plot beyond this many are drawn as an embedded image, not SVG shapes.
RASTERIZE_ABOVE = 2000
#: At most this many conditions (rows) per plot; the tables under the plots list all of them.
MAX_PLOTTED_ROWS = 200
#: Row labels (condition and treatment names) longer than this are shortened in the middle.
MAX_ROW_LABEL = 32
#: Axis labels (metric names) longer than this are shortened in the middle.
MAX_AXIS_LABEL = 90

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _label(text: str, width: int | None = None) -> str:
    """Make a user string safe for matplotlib text (``$`` would start mathtext), shortened
    in the middle to ``width`` characters when given (see :func:`shorten`)."""
    return (text if width is None else shorten(text, width)).replace("$", r"\$")


def shorten(text: str, width: int, keep: int | None = None) -> str:
    """``text`` cut to ``width`` characters with ``…`` in the middle, keeping its start and end.

    With ``keep`` (an index into ``text``), a window around that character is kept too:
    ``start…window…end``. Text of at most ``width`` characters is returned whole.
    """
    if len(text) <= width:
        return text
    if keep is None:
        head = (width - 1) // 2
        return text[:head] + "…" + text[len(text) - (width - 1 - head):]
    part = (width - 2) // 3
    start = max(part, min(keep - part // 2, len(text) - 2 * part))
    return text[:part] + "…" + text[start:start + part] + "…" + text[len(text) - (width - 2 - 2 * part):]


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def short_labels(names: Sequence[str], width: int = MAX_ROW_LABEL) -> list[str]:
    """Labels of at most ``width`` characters for distinct ``names``, distinct themselves.

    A long name keeps its start and end (:func:`shorten`). Names whose shortened forms
    look alike (equal but for surrounding spaces) also keep the part where they first
    differ (``sweep_with…desc_adam_…_very_desc``); should labels still look alike, a
    number is added to all but the first (``… (2)``).
    """
    labels = [shorten(name, width) for name in names]
    groups: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label.strip(), []).append(index)
    for members in groups.values():
        for index in members if len(members) > 1 else ():
            differs = max(_common_prefix(names[index], names[other]) for other in members if other != index)
            labels[index] = shorten(names[index], width, keep=differs)
    seen: set[str] = set()
    for index, label in enumerate(labels):
        number = 1
        while label.strip() in seen:
            number += 1
            tag = f" ({number})"
            label = shorten(names[index], max(width - len(tag), 1)) + tag
        seen.add(label.strip())
        labels[index] = label
    return labels


def _capped(rows: Sequence[Any], which: str) -> tuple[list[Any], str | None]:
    """The first :data:`MAX_PLOTTED_ROWS` of ``rows``, and a note on how many are shown
    (``None`` when all are). ``which`` says what they are, with ``{shown}`` and ``{total}``
    placeholders: "the first {shown} of {total} conditions"."""
    if len(rows) <= MAX_PLOTTED_ROWS:
        return list(rows), None
    shown = which.format(shown=MAX_PLOTTED_ROWS, total=f"{len(rows):,}")
    return list(rows[:MAX_PLOTTED_ROWS]), f"showing {shown}; the table lists all"


@contextmanager
def _figure(width: float, height: float, salt: str) -> Iterator[Any]:
    """A new figure, drawn in the report's style; serialize it with :func:`_laid_out_svg`."""
    import matplotlib  # a core dependency, imported only when a report is drawn
    from matplotlib.figure import Figure

    style = {
        "svg.fonttype": "path",
        "svg.hashsalt": salt,  # unique, stable element ids per figure
        # No layout engine on the figure: _laid_out_svg lays it out itself.
        "figure.autolayout": False,
        "figure.constrained_layout.use": False,
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
        yield Figure(figsize=(width, height))


def _laid_out_svg(fig: Any) -> str:
    """Lay ``fig`` out with matplotlib's constrained layout, then serialize it (:func:`to_svg`).

    The SVG is the one ``savefig`` writes for a figure with ``layout="constrained"``, but
    the figure is drawn once instead of twice: ``savefig`` works such a layout out by
    drawing the whole figure first and throwing that drawing away, which made 20-30% of
    the time a report with many plots took.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    FigureCanvasSVG(fig)  # text is measured as the SVG backend draws it
    ConstrainedLayoutEngine().execute(fig)
    return to_svg(fig)


def to_svg(fig: Any) -> str:
    """Serialize a figure as an inline ``<svg>`` element (no XML prolog, no metadata)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))
    return text.strip()


def _row_labels(ax: Any, labels: Sequence[str]) -> None:
    """Label rows ``0 … n-1`` (bottom up) with tick marks and names, as y ticks look.

    Long names are shortened to distinct labels (:func:`short_labels`), so the plot keeps
    its room and no two rows look alike. Drawn as one line of tick-mark markers and one
    text per row instead of matplotlib's per-tick objects, which make an axis of a few
    hundred rows take seconds to draw.
    """
    import matplotlib
    from matplotlib.markers import TICKLEFT

    rc = matplotlib.rcParams
    size = rc["ytick.major.size"]
    ax.set_yticks([])
    ax.plot(
        [0.0] * len(labels), range(len(labels)), transform=ax.get_yaxis_transform(), linestyle="none",
        marker=TICKLEFT, markersize=size, markeredgewidth=rc["ytick.major.width"], color=rc["ytick.color"],
        clip_on=False,
    )
    transform, va, ha = ax.get_yaxis_text1_transform(size + rc["ytick.major.pad"])
    for y, label in enumerate(short_labels(labels)):
        ax.text(
            0.0, y, _label(label), transform=transform, va=va, ha=ha,
            fontsize=rc["ytick.labelsize"], color=rc["ytick.color"],
        )


def _jitter(count: int, index: int) -> list[float]:
    """Deterministic vertical offsets in [-0.18, 0.18] spreading ``count`` points."""
    if count <= 1:
        return [0.0] * count
    # A golden-ratio sequence spreads points evenly without randomness.
    return [((i * 0.6180339887 + index * 0.37) % 1.0 - 0.5) * 0.36 for i in range(count)]


def strip_sample(values: Sequence[float], limit: int = MAX_STRIP_POINTS) -> list[float]:
    """The values drawn as strip points: all of them, or ``limit`` of them when there are more.

    The sample takes the sorted values at evenly spaced ranks, the minimum and maximum
    included, so the drawn points keep the shape of the distribution.
    """
    if len(values) <= limit:
        return list(values)
    ordered = sorted(values)
    if limit < 2:  # no room for both ends: the minimum alone (or nothing)
        return ordered[: max(limit, 0)]
    step = (len(ordered) - 1) / (limit - 1)
    return [ordered[round(i * step)] for i in range(limit)]


def thinned_points(summaries: Sequence[ConditionSummary], limit: int = MAX_STRIP_POINTS) -> str | None:
    """How many values per condition the strip shows when some were thinned, else ``None``.

    E.g. ``"200 of 50,000 values per condition"``, or ``"at most 200 of up to 50,000
    values per condition"`` when the conditions have different numbers of values.
    """
    counts = {s.n for s in summaries}
    largest = max(counts, default=0)
    if largest <= limit:
        return None
    if len(counts) == 1:
        return f"{limit} of {largest:,} values per condition"
    return f"at most {limit} of up to {largest:,} values per condition"


def _strip_points(placed: Sequence[tuple[ConditionSummary, int]]) -> tuple[list[float], list[float]]:
    """x and y of every condition's strip points, jittered around the condition's row y."""
    xs: list[float] = []
    ys: list[float] = []
    for index, (s, y) in enumerate(placed):
        shown = strip_sample(s.values)
        xs += shown
        ys += [y + offset for offset in _jitter(len(shown), index)]
    return xs, ys


def distribution_plot(metric: str, summaries: Sequence[ConditionSummary], salt: str) -> str:
    """Strip + box plot of every condition's values with the mean and its 95% CI.

    Each layer (boxes, medians, whiskers, points, intervals, means) is one matplotlib
    artist for all conditions, so drawing time barely grows with the number of
    conditions. Beyond :data:`MAX_STRIP_POINTS` values per condition the strip shows a
    rank-spaced sample (:func:`strip_sample`) and the plot's title says so; the box, the
    mean and its interval always use every value. Dense point layers are rasterized to
    keep the SVG small. Of more than :data:`MAX_PLOTTED_ROWS` conditions, the first ones
    are drawn and the title says how many.

    Args:
        metric: the metric name (x-axis label).
        summaries: one summary per condition, drawn top to bottom in this order.
        salt: a string unique within the page, used to keep SVG element ids distinct.

    Returns:
        The plot as an ``<svg>`` element.
    """
    from matplotlib.collections import LineCollection, PolyCollection

    summaries, capped = _capped(summaries, "the first {shown} of {total} conditions")
    rows = len(summaries)
    placed = [(s, rows - 1 - index) for index, s in enumerate(summaries)]  # top row first
    with _figure(9.0, 0.9 + 0.55 * rows, salt) as fig:
        ax = fig.add_subplot()
        ax.add_collection(PolyCollection(
            [[(s.q1, y - 0.25), (s.q3, y - 0.25), (s.q3, y + 0.25), (s.q1, y + 0.25)] for s, y in placed],
            facecolors=BOX_FILL, edgecolors=BOX_EDGE, linewidths=0.9, zorder=1,
        ))
        ax.add_collection(LineCollection(
            [[(s.median, y - 0.25), (s.median, y + 0.25)] for s, y in placed],
            colors=BOX_EDGE, linewidths=1.6, capstyle="projecting", zorder=2,
        ))
        whiskers = [[(s.minimum, y), (s.q1, y)] for s, y in placed]
        whiskers += [[(s.q3, y), (s.maximum, y)] for s, y in placed]
        ax.add_collection(LineCollection(whiskers, colors=BOX_EDGE, linewidths=0.9, capstyle="projecting", zorder=1))
        xs, jittered = _strip_points(placed)
        ax.scatter(
            xs, jittered, s=14, color=POINT, alpha=0.55, linewidths=0, zorder=3, label="replicate",
            rasterized=len(xs) > RASTERIZE_ABOVE,
        )
        with_ci = [(s, y) for s, y in placed if s.ci is not None]
        if with_ci:
            ax.errorbar(
                [s.mean for s, _ in with_ci], [y for _, y in with_ci],
                xerr=[[s.mean - s.ci[0] for s, _ in with_ci], [s.ci[1] - s.mean for s, _ in with_ci]],
                fmt="none", ecolor=MEAN, elinewidth=1.8, capsize=4, zorder=4,
            )
        ax.scatter(
            [s.mean for s, _ in placed], [y for _, y in placed], marker="D", s=34, color=MEAN, edgecolors="white",
            linewidths=0.6, zorder=5, label="mean ± 95% CI",
        )
        thinned = thinned_points(summaries)
        _note(ax, capped, f"points: {thinned}; box, mean and CI use all values" if thinned else None)
        _row_labels(ax, [s.condition for s in reversed(summaries)])
        ax.set_ylim(-0.7, rows - 0.3)
        ax.set_xlabel(_label(metric, MAX_AXIS_LABEL))
        low = min(min(s.minimum, s.ci[0] if s.ci else s.minimum) for s in summaries)
        high = max(max(s.maximum, s.ci[1] if s.ci else s.maximum) for s in summaries)
        pad = (high - low) * 0.05 or 0.5
        ax.set_xlim(low - pad, high + pad)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
        return _laid_out_svg(fig)


def _note(ax: Any, *lines: str | None) -> None:
    """Say what the plot leaves out (the given lines that are not ``None``) in its title."""
    text = "\n".join(line for line in lines if line)
    if text:
        ax.set_title(_label(text), loc="left", fontsize=8, color=NOT_SIGNIFICANT)


def forest_plot(rows: Sequence[ComparisonRow], salt: str) -> str | None:
    """Forest plot of each comparison's estimate and confidence interval.

    Rows without a confidence interval are left out; ``None`` when none has one. The
    point is the row's ``difference`` (the quantity the interval brackets); a
    vertical line marks zero, i.e. no difference from the baseline. The intervals, their
    end caps and the points are one matplotlib artist each, however many rows there are.
    Of more than :data:`MAX_PLOTTED_ROWS` rows, the first (the best-ranked) are drawn and
    the title says how many.

    Args:
        rows: comparisons of one metric of one hypothesis, best-ranked first.
        salt: a string unique within the page (distinct SVG ids).
    """
    from matplotlib.collections import LineCollection

    with_ci = [(r, r.ci) for r in rows if r.ci is not None]
    if not with_ci:
        return None
    with_ci, capped = _capped(with_ci, "the {shown} best-ranked of {total} treatments")
    count = len(with_ci)
    # (row, its interval, its y: top row first, its colour)
    shown = [
        (r, ci, count - 1 - index, SIGNIFICANT if r.significant else NOT_SIGNIFICANT)
        for index, (r, ci) in enumerate(with_ci)
    ]
    with _figure(9.0, 0.8 + 0.45 * count, salt) as fig:
        ax = fig.add_subplot()
        ax.add_collection(LineCollection(
            [[(ci[0], y), (ci[1], y)] for _, ci, y, _ in shown],
            colors=[c for *_, c in shown], linewidths=2.2, capstyle="butt", zorder=2,
        ))
        ax.add_collection(LineCollection(
            [[(end, y - 0.12), (end, y + 0.12)] for _, ci, y, _ in shown for end in ci],
            colors=[c for *_, c in shown for _ in range(2)], linewidths=1.4, capstyle="projecting", zorder=2,
        ))
        points = [(r.difference, y, c) for r, _, y, c in shown if r.difference is not None]
        if points:
            ax.scatter(
                [x for x, _, _ in points], [y for _, y, _ in points], marker="s", s=36,
                c=[c for _, _, c in points], zorder=3,
            )
        ax.axvline(0.0, color="#111827", linewidth=0.9, linestyle="--")
        ax.autoscale_view()
        _row_labels(ax, [r.treatment for r, *_ in reversed(shown)])
        ax.set_ylim(-0.6, count - 0.4)
        kinds = {r.ci_of for r, *_ in shown if r.ci_of}
        levels = {r.ci_level for r, *_ in shown if r.ci_level}
        what = kinds.pop() if len(kinds) == 1 else "treatment − baseline"
        level = f"{levels.pop():.0%} CI" if len(levels) == 1 else "CI"
        metric = shorten(shown[0][0].metric, MAX_AXIS_LABEL // 2)
        ax.set_xlabel(_label(f"{metric}: {what} ({level})", MAX_AXIS_LABEL))
        _note(ax, capped)
        return _laid_out_svg(fig)


__all__ = [
    "MAX_PLOTTED_ROWS", "MAX_STRIP_POINTS", "distribution_plot", "forest_plot", "short_labels", "shorten",
    "strip_sample", "thinned_points", "to_svg",
]
