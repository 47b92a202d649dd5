"""Tables in narrow terminals: no column is ever dropped, and no name is broken in the middle.

Rich shrinks columns that may wrap first and, when that is not enough, every column
evenly, down to nothing: a column that reaches width 0 is left out of the table (the
numbers of ``diff`` then stood without their condition and metric). The tables are
drawn at least as wide as their columns need, so lines get longer than the terminal
(which wraps them) instead.
"""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.cli.diff import _metric_table, metric_changes
from crystallize.cli.history import runs_table
from crystallize.cli.listing import listing_table
from crystallize.cli.targets import CatalogEntry
from crystallize.store import RunInfo
from crystallize.terminal_chart import terminal_chart

WIDTHS = (5, 10, 30, 40, 52)


def render(renderable: object, width: int) -> str:
    """``renderable`` printed as the commands print tables: on a console ``width`` wide,
    lines not cut."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable, crop=False)
    return console.file.getvalue()


def words(text: str) -> set[str]:
    return set(text.split())


# -- diff ------------------------------------------------------------------------------------
def diff_table():
    rows = metric_changes([
        ("baseline", {"abs_error": [0.5, 0.6]}, {"abs_error": [0.4, 0.5]}),
        ("sample_200", {"abs_error": [0.1, 0.2]}, {"abs_error": [0.3, 0.1]}),
    ])
    return _metric_table(rows, "A", "B")


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_keeps_its_condition_and_metric_columns(width):
    text = render(diff_table(), width)
    for name in ("condition", "metric", "baseline", "sample_200", "abs_error", "delta", "change"):
        assert name in words(text), text
    # each row still reads: condition, metric, then its numbers
    assert any(line.split()[:2] == ["sample_200", "abs_error"] for line in text.splitlines()), text


def test_diff_at_its_natural_width_is_unchanged():
    wide = render(diff_table(), 200)
    assert render(diff_table(), 60) == wide
    assert len(max(wide.splitlines(), key=len).rstrip()) < 60


# -- show (the terminal chart) ---------------------------------------------------------------
@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def measure(data, ctx, *, shift=0):
    return data, {"abs_error": data + shift}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    experiment = Experiment(
        datasource=index(),
        pipeline=Pipeline([measure()]),
        treatments=[treatment("sample_200", {"shift": 3})],
        replicates=4,
        plugins=[ArtifactPlugin(root_dir=tmp_path_factory.mktemp("narrow") / "data")],
        name="narrow",
    )
    return experiment.run()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_chart_keeps_its_condition_column(result, width):
    text = render(terminal_chart(result), width)
    for name in ("condition", "mean", "95% CI", "n", "baseline", "sample_200"):
        assert name in text, text
    (row,) = [line for line in text.splitlines() if line.startswith("sample_200")]
    assert row.split()[-4:] == ["4.5", "[2.446,", "6.554]", "4"], text  # the mean and CI on their condition's line


# -- runs ------------------------------------------------------------------------------------
def run_info(run_id: str, errors: int) -> RunInfo:
    now = time.time()
    return RunInfo(
        run_id=run_id, experiment="demo", fingerprint="f", spec={}, status="completed", replicates=3,
        conditions=("baseline",), base_seed=1, started_at=now - 5, ended_at=now, heartbeat_at=now, pid=1,
        hostname="h", summary={"errors": errors}, warnings=(), parent_run=None, n_records=9,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_runs_keeps_every_column(width):
    text = render(runs_table([run_info("4bdd4ed33c3b", 7), run_info("75713d9f2330", 0)]), width)
    for header in ("id", "status", "started", "duration", "records", "errors"):
        assert header in words(text), text
    (row,) = [line for line in text.splitlines() if line.startswith("4bdd4ed33c3b")]
    assert row.split()[-2:] == ["9", "7"], text  # records, then errors


# -- list ------------------------------------------------------------------------------------
class _Treatment:
    def __init__(self, name: str) -> None:
        self.name = name


def listing():
    class Experiment:
        replicates = 20
        treatments = [_Treatment("window_5"), _Treatment("window_15"), _Treatment("median_filter")]
        declared_treatments = ()
        config_path = None

    return listing_table([
        CatalogEntry("smoothing", "experiment", "Examples", 0, Experiment()),
        CatalogEntry("train", "experiment", "Examples", 1, Experiment()),
    ])


@pytest.mark.parametrize("width", WIDTHS)
def test_list_keeps_its_group_and_treatments_whole(width):
    text = render(listing(), width)
    for word in ("group", "name", "kind", "replicates", "treatments", "Examples", "smoothing", "train"):
        assert word in words(text), text
    # treatments wrap between names, never inside one
    for name in ("window_5,", "window_15,", "median_filter"):
        assert name in words(text), text
    assert len(text.splitlines()) <= 1 + 2 * 3, text  # at most a line per treatment name
