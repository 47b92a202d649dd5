"""Static SVG plots for the HTML report, drawn with matplotlib.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing global (the current figure, the interactive backend) is touched, so
rendering a report inside a notebook or a server leaves the user's plotting state alone.
SVG output uses matplotlib's non-interactive vector backend; text is drawn as paths so
the page needs no fonts.

The row labels, the value axis and the legend are drawn as a few plain artists where
matplotlib would put its own (:func:`_row_labels`, :func:`_value_axis`, :func:`_legend`):
matplotlib's per-tick objects and legend boxes, worked out anew on every layout pass and
draw, made some 40% of the time a plot took, and a report draws one plot per metric.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from crystallize.utils.text import surrogates_escaped

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
    """Make a user string safe for matplotlib text (``$`` would start mathtext; a lone
    surrogate, which matplotlib's fonts refuse, is shown as its ``\\u`` escape, as in the
    page's text), shortened in the middle to ``width`` characters when given (see
    :func:`shorten`)."""
    return surrogates_escaped(text if width is None else shorten(text, width)).replace("$", r"\$")


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
        # What _value_axis, _row_labels and _legend draw by hand (ticks outward; one legend
        # key per entry, the size of the plot's markers), whatever the user's settings.
        "xtick.direction": "out",
        "ytick.direction": "out",
        "legend.scatterpoints": 1,
        "legend.markerscale": 1.0,
    }
    fallback = _wide_script_font()
    if fallback is not None:  # names in CJK scripts drawn rather than as empty boxes
        families = matplotlib.rcParams["font.family"]
        style["font.family"] = [*families, fallback] if fallback not in families else list(families)
    with matplotlib.rc_context(style), warnings.catch_warnings():
        # A character no installed font has is drawn as an empty box (the tables show
        # it): matplotlib's warning per glyph is not the user's to act on.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        yield Figure(figsize=(width, height))


#: Fonts with CJK glyphs that matplotlib can fall back to, most common first.
_CJK_FONTS = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR", "Noto Sans SC",
    "Noto Sans JP", "Source Han Sans", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Droid Sans Fallback", "Microsoft YaHei", "SimHei", "MS Gothic", "Yu Gothic", "Malgun Gothic",
    "PingFang SC", "Hiragino Sans", "Hiragino Sans GB", "Heiti SC", "Arial Unicode MS",
)


@functools.lru_cache(maxsize=1)
def _wide_script_font() -> str | None:
    """The first of :data:`_CJK_FONTS` matplotlib's font manager knows, else ``None``."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


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


#: matplotlib's rule for the ticks an axis draws: those in the view, give or take this
#: fraction of its width (``matplotlib.transforms._interval_contains_close``).
_TICK_TOLERANCE = 1e-10


def _value_axis(ax: Any, label: str) -> None:
    """Draw the x axis — tick marks, grid lines, tick labels, offset and label — as a few
    plain artists, where matplotlib would place and style its own.

    matplotlib's axis keeps five artists per tick and works its ticks out again and again
    while a figure is laid out and drawn, which made about a quarter of the time a plot
    took. Here the ticks and their labels still come from the axis' own locator and
    formatter (for the limits set when this is called, so call it last), and the axis is
    hidden: one line of tick-mark markers, one collection of grid lines, one text per
    label. The axis label is placed :data:`axes.labelpad` below the tick labels and, as
    matplotlib's is, left out of the layout's width (:class:`~._artists.AxisLabel`).
    """
    import matplotlib
    from matplotlib.collections import LineCollection
    from matplotlib.markers import TICKDOWN

    from crystallize.reporting_html._artists import AxisLabel

    rc = matplotlib.rcParams
    low, high = ax.get_xlim()
    ax.set_xlim(low, high)  # final: the tick marks below must not widen the view
    axis = ax.xaxis
    locations = axis.get_majorticklocs()
    texts = axis.get_major_formatter().format_ticks(locations)  # all of them, as the axis does
    offset = axis.get_major_formatter().get_offset()
    slack = _TICK_TOLERANCE * abs(high - low)
    ticks = [(x, text) for x, text in zip(locations, texts, strict=True)
             if min(low, high) - slack <= x <= max(low, high) + slack]
    axis.set_visible(False)
    below = 0.5  # matplotlib draws an axis under the data (axes.axisbelow)
    xs = [x for x, _ in ticks]
    if rc["axes.grid"] and rc["axes.grid.axis"] in ("x", "both"):
        grid = {}
        for key in ("color", "linewidth", "linestyle", "alpha"):
            major = rc.get(f"grid.major.{key}")  # matplotlib 3.11+: overrides grid.* when set
            grid[key] = rc[f"grid.{key}"] if major is None else major
        ax.add_collection(LineCollection(
            [[(x, 0.0), (x, 1.0)] for x in xs], transform=ax.get_xaxis_transform(), colors=grid["color"],
            linewidths=grid["linewidth"], linestyles=grid["linestyle"], alpha=grid["alpha"],
            capstyle="projecting", zorder=below,
        ), autolim=False)
    size = rc["xtick.major.size"]
    color = rc["xtick.color"]
    label_color = color if rc["xtick.labelcolor"] == "inherit" else rc["xtick.labelcolor"]
    ax.plot(
        xs, [0.0] * len(xs), transform=ax.get_xaxis_transform(), linestyle="none", marker=TICKDOWN,
        markersize=size, markeredgewidth=rc["xtick.major.width"], color=color, clip_on=False, zorder=below,
    )[0].set_in_layout(False)  # as matplotlib's tick marks
    transform, va, ha = ax.get_xaxis_text1_transform(size + rc["xtick.major.pad"])
    labels = [
        ax.text(x, 0.0, text, transform=transform, va=va, ha=ha, fontsize=rc["xtick.labelsize"],
                color=label_color, zorder=below)
        for x, text in ticks
    ]
    # Below the tick labels (their bottom; the axes' without any), as matplotlib puts them.
    under = (ax.transAxes, labels[0]) if labels else "axes fraction"
    if offset:
        ax.annotate(
            offset, (1.0, 0.0), xycoords=under, xytext=(0.0, -3.0), textcoords="offset points",
            va="top", ha="right", fontsize=rc["xtick.labelsize"], color=label_color, annotation_clip=False,
            zorder=below,
        )
    ax.add_artist(AxisLabel(
        label, (0.5, 0.0), xycoords=under, xytext=(0.0, -rc["axes.labelpad"]), textcoords="offset points",
        va="top", ha="center", fontsize=rc["axes.labelsize"], fontweight=rc["axes.labelweight"],
        color=rc["axes.labelcolor"], annotation_clip=False, clip_on=False, zorder=below,
    ))


def _legend(ax: Any, handles: Sequence[Any], fontsize: float) -> None:
    """The legend of ``handles`` (scatters, by their labels) right of the axes' top, as
    ``ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)`` draws it.

    matplotlib's legend packs its entries into nested boxes that it lays out anew on each
    layout pass and draw, which made about a sixth of the time a plot took. The legend is laid
    out once instead (:func:`_legend_layout`) and drawn as one marker and one text per
    entry at the same places, with a :class:`~._artists.Room` taking its box in the
    layout. Each key is its scatter's first marker, at that marker's size.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import ScaledTranslation

    from crystallize.reporting_html._artists import Room

    labels = tuple(handle.get_label() for handle in handles)
    entries, box = _legend_layout(labels, fontsize, _text_settings())
    inches = ax.figure.dpi_scale_trans

    def at(offset: tuple[float, float]) -> Any:  # points from the axes' top-right corner
        return ax.transAxes + ScaledTranslation(offset[0] / 72, offset[1] / 72, inches)

    for handle, label, (marker, text, color, font) in zip(handles, labels, entries, strict=True):
        key = PathCollection(
            [handle.get_paths()[0]], sizes=handle.get_sizes()[:1], offsets=[(1.0, 1.0)], offset_transform=at(marker),
        )
        key.update_from(handle)  # colours, edges, alpha, as a legend copies them
        ax.add_collection(key, autolim=False)
        key.set_clip_on(False)
        ax.text(1.0, 1.0, label, transform=at(text), ha="left", va="baseline", color=color, fontproperties=font.copy())
    ax.add_artist(Room(box))


def _text_settings() -> tuple[tuple[str, str], ...]:
    """The rcParams a legend's layout depends on (fonts, text, legend), as a cache key.

    Only these are read: reading ``backend`` could make matplotlib pick one (via pyplot).
    """
    import matplotlib

    rc = matplotlib.rcParams
    return tuple((key, repr(rc[key])) for key in rc if key.startswith(("font.", "text.", "legend.")))


@functools.lru_cache(maxsize=8)
def _legend_layout(labels: tuple[str, ...], fontsize: float, settings: tuple[Any, ...]) -> tuple[Any, Any]:
    """Where matplotlib's legend of scatters labelled ``labels`` puts each key's marker and
    each label's baseline start, with the label's colour and font, and its padded box, in
    points from the axes' top-right corner: ``([(marker, text, colour, font), ...], box)``.

    ``settings`` (:func:`_text_settings`) only keys the cache: the layout is measured with
    the rcParams in force, on a scratch figure whose legend alone is drawn, by the SVG
    renderer (into a buffer thrown away) at its 72 dpi.
    """
    from matplotlib.backends.backend_svg import RendererSVG
    from matplotlib.figure import Figure

    fig = Figure(dpi=72)
    ax = fig.add_subplot()
    for label in labels:
        ax.scatter([], [], label=label)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=fontsize)
    renderer = RendererSVG(*(fig.get_size_inches() * fig.dpi), io.StringIO())
    legend.draw(renderer)  # places the entries
    x, y = ax.transAxes.transform((1.0, 1.0))
    scale = 72 / fig.dpi

    def points(px: float, py: float) -> tuple[float, float]:
        return (float(px - x) * scale, float(py - y) * scale)

    entries = []
    for key, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
        marker = points(*key.get_offset_transform().transform(key.get_offsets())[0])
        start = points(*text.get_transform().transform(text.get_unitless_position()))
        entries.append((marker, start, text.get_color(), text.get_fontproperties().copy()))
    box = legend.get_window_extent(renderer)
    return entries, (points(box.x0, box.y0), points(box.x1, box.y1))


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
    factor, unit = _axis_unit(end for s in summaries for end in (s.minimum, s.maximum, *(s.ci or ())))
    summaries = [_in_unit(s, factor) for s in summaries]
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
        points = ax.scatter(
            xs, jittered, s=14, color=POINT, alpha=0.55, linewidths=0, zorder=3, label="replicate",
            rasterized=len(xs) > RASTERIZE_ABOVE,
        )
        low, high = _view_limits(end for s in summaries for end in (s.minimum, s.maximum, *(s.ci or ())))
        # an interval wider than the view (even infinite) is drawn to the view's edges
        with_ci = [(s, (max(s.ci[0], low), min(s.ci[1], high)), y) for s, y in placed if s.ci is not None]
        if with_ci:
            ax.errorbar(
                [s.mean for s, _, _ in with_ci], [y for *_, y in with_ci],
                xerr=[[s.mean - ci[0] for s, ci, _ in with_ci], [ci[1] - s.mean for s, ci, _ in with_ci]],
                fmt="none", ecolor=MEAN, elinewidth=1.8, capsize=4, zorder=4,
            )
        means = ax.scatter(
            [s.mean for s, _ in placed], [y for _, y in placed], marker="D", s=34, color=MEAN, edgecolors="white",
            linewidths=0.6, zorder=5, label="mean ± 95% CI",
        )
        thinned = thinned_points(summaries)
        _note(ax, capped, f"points: {thinned}; box, mean and CI use all values" if thinned else None)
        _row_labels(ax, [s.condition for s in reversed(summaries)])
        ax.set_ylim(-0.7, rows - 0.3)
        ax.set_xlim(low, high)
        _value_axis(ax, _label(metric, MAX_AXIS_LABEL - len(unit)) + unit)
        _legend(ax, [points, means], fontsize=8)
        return _laid_out_svg(fig)


#: Values whose magnitude reaches this are drawn in units of a power of ten: matplotlib's
#: tick locator and transforms overflow on spans near the largest float.
HUGE_FOR_AXIS = 1e250


def _axis_unit(values: Iterable[float]) -> tuple[float, str]:
    """``(factor, suffix)``: divide what is drawn by ``factor`` and append ``suffix`` to
    the axis label; ``(1.0, "")`` unless a finite one of ``values`` is huge."""
    largest = max((abs(x) for x in values if math.isfinite(x)), default=0.0)
    if largest < HUGE_FOR_AXIS:
        return 1.0, ""
    power = math.floor(math.log10(largest))
    return 10.0**power, f" (× 1e{power})"


def _in_unit(summary: ConditionSummary, factor: float) -> ConditionSummary:
    """``summary`` with its values and statistics divided by ``factor``."""
    if factor == 1.0:
        return summary
    return dataclasses.replace(
        summary,
        values=tuple(x / factor for x in summary.values),
        mean=summary.mean / factor, sd=summary.sd / factor,
        ci=None if summary.ci is None else (summary.ci[0] / factor, summary.ci[1] / factor),
        minimum=summary.minimum / factor, q1=summary.q1 / factor, median=summary.median / factor,
        q3=summary.q3 / factor, maximum=summary.maximum / factor,
    )


def _view_limits(values: Iterable[float]) -> tuple[float, float]:
    """The x-axis view from the least to the greatest finite of ``values`` with 5% room
    each side (relative room when they are all equal, so matplotlib never warns of
    identical limits)."""
    finite = [x for x in values if math.isfinite(x)]
    low, high = min(finite, default=0.0), max(finite, default=0.0)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 0.5
    return low - pad, high + pad


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
    drawn = [0.0, *(x for r, ci in with_ci for x in (*ci, r.difference) if x is not None)]
    factor, unit = _axis_unit(drawn)
    low, high = _view_limits(x / factor for x in drawn)
    # (row, its interval in view, its y: top row first, its colour); infinite ends reach the edges
    shown = [
        (r, (max(ci[0] / factor, low), min(ci[1] / factor, high)), count - 1 - index,
         SIGNIFICANT if r.significant else NOT_SIGNIFICANT)
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
        points = [(r.difference / factor, y, c) for r, _, y, c in shown if r.difference is not None]
        if points:
            ax.scatter(
                [x for x, _, _ in points], [y for _, y, _ in points], marker="s", s=36,
                c=[c for _, _, c in points], zorder=3,
            )
        ax.axvline(0.0, color="#111827", linewidth=0.9, linestyle="--")
        ax.set_xlim(low, high)
        _row_labels(ax, [r.treatment for r, *_ in reversed(shown)])
        ax.set_ylim(-0.6, count - 0.4)
        kinds = {r.ci_of for r, *_ in shown if r.ci_of}
        levels = {r.ci_level for r, *_ in shown if r.ci_level}
        what = kinds.pop() if len(kinds) == 1 else "treatment − baseline"
        level = f"{levels.pop():.0%} CI" if len(levels) == 1 else "CI"
        metric = shorten(shown[0][0].metric, MAX_AXIS_LABEL // 2)
        _note(ax, capped)
        _value_axis(ax, _label(f"{metric}: {what} ({level})", MAX_AXIS_LABEL - len(unit)) + unit)
        return _laid_out_svg(fig)


__all__ = [
    "MAX_PLOTTED_ROWS", "MAX_STRIP_POINTS", "distribution_plot", "forest_plot", "short_labels", "shorten",
    "strip_sample", "thinned_points", "to_svg",
]
