"""The HTML report's plots are drawn once each: the constrained layout is worked out in
one pass, not by a throwaway draw inside ``savefig``, and the SVG is unchanged by that."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.reporting_html import plots, render_html
from crystallize.reporting_html.summary import hypothesis_rows, summarize
from crystallize.result import Result


def _summaries() -> list:
    return [summarize(c, [i + (r * 37 % 11) / 7 for r in range(20)]) for i, c in enumerate(["baseline", "a", "b"])]


def _rows() -> list:
    results = {
        f"t{i}": {"p_value": 0.01 * i, "significant": i % 2 == 0, "difference": i / 3, "ci": [i / 3 - 1, i / 3 + 1]}
        for i in range(4)
    }
    return hypothesis_rows(HypothesisResult("h", results, list(results), {}, ["m"], None))


def _draw_plot(which: str) -> str:
    if which == "distribution":
        return plots.distribution_plot("a metric", _summaries(), "s")
    svg = plots.forest_plot(_rows(), "s")
    assert svg is not None
    return svg


@pytest.fixture
def draws(monkeypatch) -> list[Figure]:
    """Every figure draw (a layout pass inside ``savefig`` draws the whole figure too)."""
    drawn: list[Figure] = []
    original = Figure.draw

    def counting(self, renderer):
        drawn.append(self)
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counting)
    return drawn


@pytest.mark.parametrize("which", ["distribution", "forest"])
def test_each_plot_is_drawn_once(which, draws):
    _draw_plot(which)
    assert len(draws) == 1, f"{len(draws)} draws of the figure for one plot"


def test_a_report_draws_each_plot_once(draws):
    metrics = {f"m{i}": [float(i)] for i in range(5)}
    records = [ReplicateRecord(c, r, r, {k: [v[0] + r + j] for k, v in metrics.items()}, [])
               for j, c in enumerate(["baseline", "t"]) for r in range(3)]
    page = render_html(Result(records, ["baseline", "t"], experiment="e"))
    assert page.count("<svg") == 5
    assert len(draws) == 5 and len({id(f) for f in draws}) == 5


@pytest.mark.parametrize("which", ["distribution", "forest"])
def test_the_plots_are_what_matplotlibs_constrained_layout_draws(which, monkeypatch):
    """The single-pass layout gives byte for byte the SVG that ``savefig`` of a figure with
    ``layout="constrained"`` writes."""
    fast = _draw_plot(which)

    def savefig_lays_out(fig):
        fig.set_layout_engine("constrained")
        return plots.to_svg(fig)

    monkeypatch.setattr(plots, "_laid_out_svg", savefig_lays_out)
    assert _draw_plot(which) == fast
