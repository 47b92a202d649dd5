"""The HTML report of a run with many metrics: every metric gets its heading, its own plot
and its table, and the plots' axis and legend, drawn as a few plain artists, look as
matplotlib's own draw them."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections import Counter

import pytest

from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.reporting_html import plots, render_html
from crystallize.reporting_html.summary import hypothesis_rows, summarize
from crystallize.result import Result

CONDITIONS = ["baseline", "treat_a", "treat_b"]
METRICS = 40
REPLICATES = 20

TEXT = re.compile(
    r'<g id="text_\d+">\s*<!-- (.*?) -->\s*<g (?:style="([^"]*)" )?transform="translate\(([-\d.e]+) ([-\d.e]+)\)'
)
MARKER = re.compile(r'<use xlink:href="#[^"]+" x="([-\d.e]+)" y="([-\d.e]+)"(?: style="([^"]*)")?')
GRID = re.compile(r'<path d="M ([-\d.e]+) ([-\d.e]+) \s*L ([-\d.e]+) ([-\d.e]+)[^"]*"[^>]*style="[^"]*stroke: #e5e7eb')
SIZE = re.compile(r'<svg[^>]* width="([\d.]+)pt" height="([\d.]+)pt"')


def _value(metric: int, condition: int, replicate: int) -> float:
    return metric * 10 + condition * 0.3 + (replicate * 7919 + metric * 31) % 97 / 97


@pytest.fixture(scope="module")
def report() -> tuple[Result, str]:
    records = [
        ReplicateRecord(
            c, r, r, {f"metric_{m:03d}": [_value(m, ci, r)] for m in range(METRICS)}, [],
        )
        for ci, c in enumerate(CONDITIONS) for r in range(REPLICATES)
    ]
    result = Result(records, CONDITIONS, experiment="many_metrics")
    return result, render_html(result)


def _sections(page: str) -> dict[str, str]:
    """Each metric's part of the Metrics section, by the metric's name."""
    metrics = page[page.index('<section id="metrics"'):page.index('<section id="hypotheses"')]
    parts = re.split(r"<h3>(.*?)</h3>", metrics)[1:]
    return {html.unescape(name): body for name, body in zip(parts[::2], parts[1::2], strict=True)}


def _texts(svg: str) -> list[str]:
    return [html.unescape(text) for text, *_ in TEXT.findall(svg)]


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def test_every_metric_has_its_heading_plot_and_table(report):
    _result, page = report
    sections = _sections(page)
    assert list(sections) == [f"metric_{m:03d}" for m in range(METRICS)], "every metric, in order"
    assert page.count("<svg") == METRICS
    for m, (metric, body) in enumerate(sections.items()):
        assert body.count('<figure class="plot"><svg') == 1, metric
        svg = body[body.index("<svg"):body.index("</svg>")]
        texts = _texts(svg)
        assert metric in texts, f"{metric}: its plot is labelled with it"
        assert {*CONDITIONS, "replicate", "mean ± 95% CI"} <= set(texts), metric
        # The x axis is this metric's own: its tick labels span its values.
        ticks = [_number(t) for t in texts if re.fullmatch(r"−?\d+(\.\d+)?", t)]
        values = [_value(m, c, r) for c in range(len(CONDITIONS)) for r in range(REPLICATES)]
        assert len(ticks) >= 3, (metric, texts)
        step = ticks[1] - ticks[0]
        assert ticks[0] - step < min(values) and max(values) < ticks[-1] + step, (metric, ticks)
        # One strip point per replicate of each condition, one mean per condition, two legend keys.
        points = [style for *_, style in MARKER.findall(svg) if style and "fill: #0072b2" in style]
        # Means: orange, white-edged (matplotlib 3.7 fills the error bars' cap markers orange too).
        means = [
            style for *_, style in MARKER.findall(svg)
            if style and "fill: #d55e00" in style and "stroke: #ffffff" in style
        ]
        assert len(points) == len(CONDITIONS) * REPLICATES + 1, metric
        assert len(means) == len(CONDITIONS) + 1, metric
        table = body[body.index("<table"):body.index("</table>")]
        assert table.count("<tr>") == 1 + len(CONDITIONS), metric
        assert table.count(f"<td>{REPLICATES}</td>") == len(CONDITIONS), metric


def test_the_report_is_the_same_on_every_render(report):
    result, page = report
    assert render_html(result) == page


def _features(svg: str) -> dict[str, object]:
    """What a plot looks like: its size, every text with where it starts, every marker
    with its style, every grid line (coordinates to 0.01 pt)."""

    def r(value: str) -> float:
        return round(float(value), 2)

    return {
        "size": SIZE.search(svg).groups(),
        "texts": Counter((html.unescape(t), style or "", r(x), r(y)) for t, style, x, y in TEXT.findall(svg)),
        "markers": Counter((r(x), r(y), style) for x, y, style in MARKER.findall(svg)),
        "grid": Counter(tuple(r(v) for v in line) for line in GRID.findall(svg)),
    }


def _forest(scale: float, shift: float, metric: str) -> list:
    results = {
        f"t{i}": {
            "metric": metric, "p_value": 0.01 * i, "significant": i % 2 == 0, "difference": shift + scale * i,
            "ci": [shift + scale * (i - 1), shift + scale * (i + 1)], "ci_of": "difference in means", "ci_level": 0.95,
        }
        for i in range(4)
    }
    return hypothesis_rows(HypothesisResult("h", results, list(results), {}, [metric], None))


LONG = "validation_accuracy_of_the_model_on_the_held_out_split_" * 3
PLOTS = {
    "plain": lambda: plots.distribution_plot("loss", [summarize(c, [i + r / 7 for r in range(9)])
                                                      for i, c in enumerate(CONDITIONS)], "s"),
    # an offset (+1e6) and a scientific exponent (1e-7) under the tick labels
    "offset": lambda: plots.distribution_plot("big", [summarize(c, [1e6 + i * 1e-3 + r * 1e-4 for r in range(9)])
                                                      for i, c in enumerate(CONDITIONS)], "s"),
    "tiny": lambda: plots.distribution_plot("tiny", [summarize(c, [(i + r / 9) * 1e-7 for r in range(9)])
                                                     for i, c in enumerate(CONDITIONS)], "s"),
    # long condition names; an axis label wider than the figure (left out of the layout's width)
    "long names": lambda: plots.distribution_plot(LONG, [summarize("baseline", [2.5])] + [
        summarize(f"condition_with_a_long_name_{i}_{LONG}", [i, i + 0.5]) for i in range(2)], "s"),
    "wide label, one value": lambda: plots.distribution_plot("W" * 68, [summarize("baseline", [2.5])], "s"),
    "forest": lambda: plots.forest_plot(_forest(-0.7, 0.0, "score"), "f"),
    "forest, offset": lambda: plots.forest_plot(_forest(1e-4, 5000.0, LONG), "f"),
}


@pytest.mark.parametrize("which", PLOTS)
def test_plots_look_as_matplotlibs_own_axis_and_legend_draw_them(which, monkeypatch):
    fast = PLOTS[which]()
    assert 'id="xtick_' not in fast and 'id="legend_' not in fast, "no per-tick or legend objects"

    def matplotlib_axis(ax, label):
        ax.set_xlabel(label)

    def matplotlib_legend(ax, handles, fontsize):
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=fontsize)

    monkeypatch.setattr(plots, "_value_axis", matplotlib_axis)
    monkeypatch.setattr(plots, "_legend", matplotlib_legend)
    reference = PLOTS[which]()
    assert 'id="xtick_' in reference
    assert _features(fast) == _features(reference)


def test_the_report_modules_import_no_matplotlib_until_a_plot_is_drawn():
    code = (
        "import sys, crystallize.reporting_html.page, crystallize.reporting_html.plots;"
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
