"""The HTML report of large runs: many conditions, many values per condition."""

from __future__ import annotations

import re

import pytest

from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.reporting_html import render_html
from crystallize.reporting_html.plots import (
    MAX_STRIP_POINTS,
    distribution_plot,
    forest_plot,
    strip_sample,
)
from crystallize.reporting_html.summary import hypothesis_rows, summarize
from crystallize.result import Result

ARTISTS = re.compile(r'<g id="(PathCollection|LineCollection|line2d|patch)_\d+"')


def _artists(svg: str) -> dict[str, int]:
    """How many matplotlib artists of each kind the SVG holds (each is one ``<g id=...>``)."""
    counts: dict[str, int] = {}
    for kind in ARTISTS.findall(svg):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _summaries(conditions: int, values: int) -> list:
    return [
        summarize(f"c{c:03d}", [c + (i * 7919 % values) / values for i in range(values)])
        for c in range(conditions)
    ]


def _comparisons(treatments: int) -> HypothesisResult:
    results = {
        f"t{t:03d}": {
            "p_value": 0.01 * (t % 10), "significant": t % 10 == 0, "difference": t / 10,
            "ci": [t / 10 - 1, t / 10 + 1], "ci_of": "difference in means", "ci_level": 0.95,
        }
        for t in range(treatments)
    }
    return HypothesisResult("h", results, list(results), {}, ["m"], None)


def test_distribution_plot_draws_all_conditions_with_a_fixed_number_of_artists():
    few, many = (distribution_plot("m", _summaries(n, 5), "s") for n in (5, 200))
    few_artists, many_artists = _artists(few), _artists(many)
    # Points, means, boxes, medians, whiskers and CIs are one artist each, whatever the
    # number of conditions; only tick marks (line2d) grow with the conditions.
    for kind in ("PathCollection", "LineCollection", "patch"):
        assert many_artists.get(kind) == few_artists.get(kind), kind
    assert many_artists["PathCollection"] == 4, "points and means, and their legend keys"
    assert "<image" not in many, "1,000 points stay vector shapes"


def test_a_dense_point_layer_is_embedded_as_one_image():
    summaries = _summaries(200, 20)
    svg = distribution_plot("m", summaries, "s")
    assert svg.count("<image") == 1 and _artists(svg)["PathCollection"] == 3
    assert distribution_plot("m", summaries, "s") == svg, "the image renders to the same bytes"


def test_forest_plot_draws_all_treatments_with_a_fixed_number_of_artists():
    few, many = (forest_plot(hypothesis_rows(_comparisons(n)), "f") for n in (5, 200))
    assert few is not None and many is not None
    few_artists, many_artists = _artists(few), _artists(many)
    for kind in ("PathCollection", "LineCollection", "patch"):
        assert many_artists.get(kind) == few_artists.get(kind), kind
    assert many_artists["PathCollection"] == 1  # every difference in one scatter


def test_strip_sample_keeps_small_samples_and_thins_large_ones_by_rank():
    assert strip_sample([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    values = [float(v) for v in range(10_000, 0, -1)]
    sample = strip_sample(values)
    assert len(sample) == MAX_STRIP_POINTS
    assert sample[0] == 1.0 and sample[-1] == 10_000.0, "min and max are kept"
    gaps = {round(b - a) for a, b in zip(sample, sample[1:], strict=False)}
    assert gaps <= {50, 51}, "evenly spaced ranks"


@pytest.fixture(scope="module")
def dense():
    """Two conditions with 30,000 values each (3 replicates logging 10,000 values)."""
    records = [
        ReplicateRecord(c, r, r, {"m": [shift + (i * 7919 % 10_000) / 10_000 for i in range(10_000)]}, [])
        for c, shift in (("baseline", 0.0), ("t", 1.0)) for r in range(3)
    ]
    result = Result(records, ["baseline", "t"], experiment="dense")
    return result, render_html(result)


def test_thinned_strip_points_are_announced_on_the_page_and_in_the_plot(dense):
    _result, dense_page = dense
    expected = "200 of 30,000 values per condition"
    assert f"Points show {expected}" in dense_page
    assert "the boxes, means and CIs use all values" in dense_page
    plot = dense_page[dense_page.index("<svg"):dense_page.index("</svg>")]
    assert f"points: {expected}" in plot, "the plot says so too (text comment of its title)"
    assert "<td>30000</td>" in dense_page, "the table counts every value"


def test_a_report_of_many_values_stays_small_and_deterministic(dense):
    result, dense_page = dense
    assert len(dense_page) < 200_000, f"{len(dense_page):,} bytes"
    assert render_html(result) == dense_page, "the thinned points are the same on every render"


def test_a_small_run_is_not_announced_as_thinned():
    records = [ReplicateRecord(c, r, r, {"m": [float(r)]}, []) for c in ("baseline", "t") for r in range(5)]
    page = render_html(Result(records, ["baseline", "t"], experiment="small"))
    assert "Points show" not in page and "points:" not in page
