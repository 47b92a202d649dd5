"""terminal_chart: per-condition distributions drawn with unicode characters."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.exceptions import MissingMetricError
from crystallize.reporting_html.summary import summarize
from crystallize.terminal_chart import (
    MEAN,
    _Scale,
    box_line,
    histogram_line,
    render_terminal_chart,
    terminal_chart,
)

CONDITIONS = ("baseline", "low [red]x[/red]", "high")


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def measure(data, ctx, *, shift=0):
    return data, {"score": data + shift, "size": 10 - data}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from crystallize import ArtifactPlugin

    experiment = Experiment(
        datasource=index(),
        pipeline=Pipeline([measure()]),
        treatments=[treatment(CONDITIONS[1], {"shift": -8}), treatment("high", {"shift": 12})],
        replicates=5,
        plugins=[ArtifactPlugin(root_dir=tmp_path_factory.mktemp("chart") / "data")],
        name="chart",
    )
    return experiment.run()


def _rows(text: str) -> dict[str, str]:
    """``{condition: its box line}``: the line right after the condition's histogram line."""
    lines = text.splitlines()
    found = {}
    for i, line in enumerate(lines):
        for condition in CONDITIONS:
            if line.startswith(condition + " "):
                found[condition] = lines[i + 1]
    return found


def test_every_condition_is_shown_with_mean_and_n(result):
    text = render_terminal_chart(result, "score", width=40)
    assert text.splitlines()[0].strip() == "score"
    for condition in CONDITIONS:
        row = next(line for line in text.splitlines() if line.startswith(condition + " "))
        mean = summarize(condition, result.metrics.conditions()[condition].metrics["score"]).mean
        assert f"{mean:.4g}" in row and row.rstrip().endswith("5")


def test_mean_markers_follow_the_ordering_of_means(result):
    text = render_terminal_chart(result, "score", width=50)
    columns = {c: line.index(MEAN) for c, line in _rows(text).items()}
    assert set(columns) == set(CONDITIONS)
    # means: low -6 < baseline 2 < high 14
    assert columns[CONDITIONS[1]] < columns["baseline"] < columns["high"]
    assert columns["high"] - columns[CONDITIONS[1]] > 30, "spread over the shared axis"


def test_all_metrics_by_default_and_unknown_metric_error(result):
    text = render_terminal_chart(result, width=30)
    assert "score" in text and "size" in text
    with pytest.raises(MissingMetricError, match=r"'scor'.*recorded: score, size"):
        terminal_chart(result, "scor")
    with pytest.raises(ValueError, match="at least 10"):
        terminal_chart(result, width=5)


def test_is_a_rich_renderable_with_colour(result):
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=120).print(
        terminal_chart(result, "score")
    )
    assert "\x1b[" in out.getvalue() and MEAN in out.getvalue()


def test_box_and_histogram_lines():
    summary = summarize("c", [0, 1, 2, 3, 4, 5, 6, 7, 8, 100])
    scale = _Scale(0, 100, 21)
    line = box_line(summary, scale)
    assert len(line) == 21
    # q1 = 2.25 and q3 = 6.75 share columns 0-1, the mean (13.6) sits in column 3, the
    # whisker runs on to the maximum at column 20.
    assert line == "░┃ " .replace(" ", "─") + MEAN + "─" * 17
    assert line.index(MEAN) == scale.column(summary.mean) == 3
    histogram = histogram_line(summary.values, scale)
    # column 0 holds 0-2 (3 values), column 1 holds 3-7 (5, the peak), column 2 holds 8,
    # column 20 the outlier 100; block heights are proportional to the counts.
    assert histogram == "▅█▂" + " " * 17 + "▂"
    flat = box_line(summarize("c", [3.0, 3.0]), _Scale(3.0, 3.0, 11))
    assert flat.strip() == MEAN


@pytest.mark.parametrize("columns", [80, 100, 200])
def test_default_width_fits_the_console_with_every_column(result, columns):
    out = io.StringIO()
    result.print_chart("score", console=Console(file=out, width=columns, color_system=None))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= columns
    header = next(line for line in lines if "distribution" in line)
    assert header.split() == ["condition", "distribution", "mean", "95%", "CI", "n"]
    for condition in CONDITIONS:
        row = next(line for line in lines if line.startswith(condition + " "))
        assert row.rstrip().endswith("5"), f"n column cut off at {columns} columns: {row!r}"
    axis = [line for line in lines if line.strip()][-1]  # the axis ends span the column
    assert 10 <= len(axis.strip()) <= 60
    if columns == 200:
        assert len(axis.strip()) == 60, "wide consoles get the full 60 columns"
