"""Finite metric values near the largest float are summarised, never crash a report.

Sums of such values overflow (``statistics.fmean([1e308, 1e308])`` raises), and so do
differences of values of opposite sign; the summaries rescale by a power of two instead.
"""

from __future__ import annotations

import io
import math
import statistics

import pytest
from rich.console import Console

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.cli.diff import mean_of
from crystallize.reporting import metric_summary
from crystallize.utils.moments import mean_sd


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def emit(data, ctx):
    ctx.metrics.add("m", ctx["vals"][ctx["replicate"]])
    return data


def run(baseline: list[float], treated: list[float]):
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline([emit()]),
        initial_ctx={"vals": baseline},
        treatments=[treatment("t", {"vals": treated})],
        replicates=len(baseline),
        plugins=[ArtifactPlugin(root_dir=None)],
        name="huge",
    ).run()


def test_mean_sd_matches_statistics_for_ordinary_values_bit_for_bit():
    values = [0.1, 0.2, 0.3, 1e-300, 7.5e12]
    assert mean_sd(values) == (statistics.fmean(values), statistics.stdev(values))


@pytest.mark.parametrize(
    ("values", "mean", "sd"),
    [
        ([1e308, 1e308], 1e308, 0.0),
        ([1.7e308, 1.7e308, 1.7e308], 1.7e308, 0.0),
        ([0.0, 6e307], 3e307, math.sqrt(2) * 3e307),
        ([-1.7e308, 1.7e308], 0.0, math.inf),  # the sd itself exceeds the largest float
    ],
)
def test_mean_sd_of_values_whose_sum_overflows(values, mean, sd):
    got_mean, got_sd = mean_sd(values)
    assert got_mean == pytest.approx(mean, rel=1e-15)
    assert got_sd == pytest.approx(sd, rel=1e-15) if math.isfinite(sd) else got_sd == sd


def test_text_summary_and_diff_mean_of_huge_values():
    assert metric_summary([1e308, 1e308]) == "1.000e+308 ± 0 (n=2)"
    assert mean_of([1e308, 1e308]) == 1e308


@pytest.mark.parametrize("treated", [[1e308, 1e308], [0.0, 6e307], [1.0, 9e307], [-1.7e308, 1.7e308]])
def test_report_chart_and_html_of_huge_finite_values(treated):
    result = run([1.0, 2.0], treated)

    text = result.report()
    assert "n=2" in text

    out = io.StringIO()
    result.print_chart(console=Console(file=out, width=100))
    assert "t" in out.getvalue() and "baseline" in out.getvalue()

    html = result.to_html()
    assert "<svg" in html and "huge" in html


@pytest.mark.parametrize(
    ("ci", "difference"),
    [((-1.5e308, 1.5e308), 0.0), ((-math.inf, math.inf), 1.0), ((1e300, 1.7e308), 9e307), ((-2.0, math.inf), 3.0)],
)
def test_forest_plot_of_huge_and_infinite_intervals(ci, difference):
    from crystallize import Hypothesis, verifier

    @verifier
    def wide(baseline, treatment):
        return {"p_value": 0.5, "ci": ci, "difference": difference, "ci_of": "mean difference", "ci_level": 0.95}

    result = Experiment(
        datasource=zero(), pipeline=Pipeline([emit()]), initial_ctx={"vals": [1.0, 2.0]},
        treatments=[treatment("t", {"vals": [3.0, 4.0]})], replicates=2,
        hypotheses=[Hypothesis(verifier=wide(), metrics="m", name="h")],
        plugins=[ArtifactPlugin(root_dir=None)], name="huge",
    ).run()
    html = result.to_html()
    assert html.count("<svg") >= 2  # the distribution and the forest plot


def test_axis_helpers_keep_matplotlib_in_range():
    from crystallize.reporting_html.plots import _axis_unit, _view_limits

    assert _axis_unit([1.0, -3.0, math.inf]) == (1.0, "")
    assert _axis_unit([2.0, -1.7e308, math.nan]) == (1e308, " (× 1e308)")
    assert _view_limits([1e17, 1e17]) == (1e17 - 5e15, 1e17 + 5e15)  # equal ends: relative room
    assert _view_limits([0.0, 10.0, math.inf, -math.inf]) == (-0.5, 10.5)
    assert _view_limits([]) == (-0.5, 0.5)
