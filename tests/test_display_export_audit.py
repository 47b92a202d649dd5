"""How results are shown and exported, from an audit: lone surrogates in metric names and
values (to_dataframe, to_parquet, the HTML report), a long condition name in the terminal
chart, control characters in the names report() shows, and integers beyond 2**53 in the
summaries (report, HTML table, terminal chart)."""

from __future__ import annotations

import io
import json
import re
import statistics

import numpy as np
import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step, treatment
from crystallize.hypothesis import Hypothesis
from crystallize.stats import welch_t_test

SURROGATE = "a\ud800b"  # e.g. a file name decoded with surrogateescape
ESCAPED = "a\\ud800b"  # how to_json writes it


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


def run_metrics(record, *, replicates=3, treatments=(), hypotheses=(), name="audit"):
    """A run whose step calls ``record(ctx, replicate, delta)``."""

    @pipeline_step()
    def emit(data, ctx, *, delta=0.0):
        record(ctx, data, delta)
        return data

    return Experiment(
        datasource=replicate_index(),
        pipeline=Pipeline([emit()]),
        treatments=list(treatments),
        hypotheses=list(hypotheses),
        replicates=replicates,
        plugins=[SeedPlugin(seed=1)],
        name=name,
    ).run()


# -- 1. lone surrogates ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def surrogate_value():
    def record(ctx, replicate, delta):
        ctx.metrics.add("label", SURROGATE if replicate == 1 else f"plain{replicate}")
        ctx.metrics.add("score", float(replicate))

    return run_metrics(record)


@pytest.fixture(scope="module")
def surrogate_name():
    return run_metrics(lambda ctx, replicate, delta: ctx.metrics.add(SURROGATE, float(replicate)))


def test_to_dataframe_keeps_a_string_value_holding_a_lone_surrogate(surrogate_value):
    frame = surrogate_value.to_dataframe()
    assert len(frame) == 3  # one row per condition x replicate
    assert frame["label"].dtype == object  # pandas' str type cannot hold the surrogate
    assert frame["label"].tolist() == ["plain0", SURROGATE, "plain2"]
    assert frame["score"].tolist() == [0.0, 1.0, 2.0]


def test_to_dataframe_of_plain_strings_keeps_pandas_string_type():
    frame = run_metrics(lambda ctx, replicate, delta: ctx.metrics.add("label", f"x{replicate}")).to_dataframe()
    # The dtype pandas gives text itself: its string dtype from pandas 3, object before.
    assert frame["label"].dtype == pd.Series(["x"]).dtype and frame["label"].tolist() == ["x0", "x1", "x2"]


def test_to_dataframe_keeps_a_metric_name_holding_a_lone_surrogate(surrogate_name):
    frame = surrogate_name.to_dataframe()
    assert len(frame) == 3
    assert list(frame.columns) == ["condition", "replicate", "seed", "error", "duration", SURROGATE]
    assert frame[SURROGATE].tolist() == [0.0, 1.0, 2.0]


def test_to_parquet_writes_a_lone_surrogate_as_to_json_does(surrogate_value, surrogate_name, tmp_path):
    pytest.importorskip("pyarrow")
    surrogate_value.to_parquet(tmp_path / "value.parquet")
    read = pd.read_parquet(tmp_path / "value.parquet")
    assert read["label"].tolist() == ["plain0", ESCAPED, "plain2"]  # text, not JSON text
    assert ESCAPED in surrogate_value.to_json()
    surrogate_name.to_parquet(tmp_path / "name.parquet")
    read = pd.read_parquet(tmp_path / "name.parquet")
    assert read[ESCAPED].tolist() == [0.0, 1.0, 2.0]
    assert surrogate_name.to_dataframe()[SURROGATE].tolist() == [0.0, 1.0, 2.0]  # the frame itself unchanged


def test_to_parquet_escapes_a_lone_surrogate_in_a_list_of_strings(tmp_path):
    pytest.importorskip("pyarrow")

    def record(ctx, replicate, delta):
        for text in ("x", SURROGATE if replicate == 0 else "y"):
            ctx.metrics.add("texts", text)

    run = run_metrics(record, replicates=2)
    run.to_parquet(tmp_path / "lists.parquet")
    read = pd.read_parquet(tmp_path / "lists.parquet")
    assert [list(value) for value in read["texts"]] == [["x", ESCAPED], ["x", "y"]]


def test_html_report_shows_a_metric_name_holding_a_lone_surrogate_escaped(surrogate_name, tmp_path):
    from crystallize.reporting_html import render_html, write_html

    page = render_html(surrogate_name)
    assert f"<h3>{ESCAPED}</h3>" in page
    assert not re.search("[\ud800-\udfff]", page)
    path = write_html(surrogate_name, tmp_path / "report.html")
    assert ESCAPED in path.read_text(encoding="utf-8")


def test_html_report_shows_a_string_value_holding_a_lone_surrogate(surrogate_value):
    from crystallize.reporting_html import render_html

    page = render_html(surrogate_value)  # the string is skipped in the plots, counted as skipped
    assert "<h3>label</h3>" in page and not re.search("[\ud800-\udfff]", page)


# -- 2. a long condition name in the terminal chart -------------------------------------------
LONG = "lr_sweep_adam_with_warmup_cosine_decay_0001"  # 43 characters


@pytest.fixture(scope="module")
def long_name():
    return run_metrics(
        lambda ctx, replicate, delta: ctx.metrics.add("score", replicate * 0.1 + delta),
        replicates=6,
        treatments=[treatment(LONG, {"delta": 1.0})],
        name="chart",
    )


def chart_lines(result, columns):
    out = io.StringIO()
    result.print_chart("score", console=Console(file=out, width=columns, color_system=None))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("columns", [60, 70, 80])
def test_a_long_condition_name_wraps_rather_than_the_distribution_going(long_name, columns):
    lines = chart_lines(long_name, columns)
    assert max(len(line) for line in lines) <= columns, lines
    assert "distribution" in lines[1], lines
    assert any("█" in line or "▄" in line for line in lines), lines
    start = next(i for i, line in enumerate(lines) if line.startswith(LONG[:12]))
    assert lines[start].rstrip().endswith(" 6"), lines  # mean, CI and n whole
    assert "[1.054, 1.446]" in lines[start]
    # the name wraps within its column, none of it cut
    rest = [line.split()[0] for line in lines[start + 1 :] if line.strip() and not line.startswith(" ")]
    assert lines[start].split()[0] + "".join(rest) == LONG, lines


def test_a_long_condition_name_at_80_columns_wraps_over_two_lines(long_name):
    lines = chart_lines(long_name, 80)
    start = next(i for i, line in enumerate(lines) if line.startswith(LONG[:12]))
    first, second = lines[start].split()[0], lines[start + 1].split()[0]
    assert abs(len(first) - len(second)) <= 1  # evenly: the distribution gets the rest
    axis = lines[start + 2].strip().split()
    assert axis[0] == "0" and axis[-1] == "1.5"


def test_the_distribution_is_left_out_only_when_even_wrapped_names_leave_no_room(long_name):
    lines = chart_lines(long_name, 45)
    assert "distribution" not in "\n".join(lines)
    assert max(len(line) for line in lines) <= 45, lines


def test_the_chart_writes_a_newline_or_tab_in_a_name_as_an_escape():
    # As report() does: the title stayed split over two lines, the tab expanded.
    run = run_metrics(
        lambda ctx, replicate, delta: ctx.metrics.add("a\nb\tc", replicate * 0.1 + delta),
        replicates=4,
        treatments=[treatment("t", {"delta": 1.0})],
        name="chart_escapes",
    )
    out = io.StringIO()
    run.print_chart("a\nb\tc", console=Console(file=out, width=100, color_system=None))
    text = out.getvalue()
    assert "a\\nb\\tc" in text
    assert "a\nb" not in text and "\t" not in text


# -- 3. control characters in the names report() shows -----------------------------------------
def test_report_escapes_control_characters_in_names_and_keeps_alignment():
    metric = "\x1b[2J\x1b[31mloss"

    def record(ctx, replicate, delta):
        ctx.metrics.add(metric, float(replicate) + delta)
        ctx.metrics.add("准确率😀±", float(replicate) * 2 + delta)
        ctx.metrics.add("line\nbreak\tx", 1.0)

    run = run_metrics(
        record,
        replicates=4,
        treatments=[treatment("处理组", {"delta": 1.0})],
        hypotheses=[Hypothesis(verifier=welch_t_test(), metrics=metric, name="h\x1b]0;title\x07")],
    )
    text = run.report()
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J\\x1b[31mloss" in text  # written as printable() writes it
    assert "Hypothesis 'h\\x1b]0;title\\x07' on \\x1b[2J\\x1b[31mloss" in text
    assert "line\\nbreak\\tx" in text and "line\nbreak" not in text  # a name stays on its line
    assert "准确率😀±" in text and "处理组" in text  # ordinary unicode kept
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("condition"))
    table = lines[header : header + 4]  # header, rule, baseline, 处理组
    rule = table[1].split("  ")
    starts = [sum(len(part) + 2 for part in rule[:k]) for k in range(len(rule))]
    for line in table:  # every column starts at the same display column
        for start in starts[1:]:
            prefix = _prefix_of_width(line, start)
            assert prefix is not None and line[len(prefix) - 2 : len(prefix)] == "  ", (line, start)


def _prefix_of_width(line: str, width: int) -> str | None:
    """The start of ``line`` that is ``width`` display columns wide, if there is one."""
    for end in range(len(line) + 1):
        if cell_len(line[:end]) == width:
            return line[:end]
    return None


def test_report_escapes_control_characters_in_messages_but_keeps_line_breaks():
    def record(ctx, replicate, delta):
        if replicate == 1:
            raise ValueError("bad\x1b[31m value\nsecond line")
        ctx.metrics.add("m", 1.0)

    text = run_metrics(record, replicates=2).report()
    assert "\x1b" not in text
    assert "bad\\x1b[31m value\nsecond line" in text


# -- 4. integers beyond 2**53 -------------------------------------------------------------------
BIG_INTS = [2**60 + i for i in range(4)]
TRUE_SD = statistics.stdev(BIG_INTS)  # 1.2909944487358056


def test_mean_sd_is_exact_for_integers_a_float_cannot_hold():
    from crystallize.utils.moments import mean_sd

    assert mean_sd(BIG_INTS) == (float(2**60), TRUE_SD)
    assert mean_sd([np.int64(v) for v in BIG_INTS]) == (float(2**60), TRUE_SD)
    assert mean_sd([*BIG_INTS, 0.5])[1] == statistics.stdev([*BIG_INTS, 0.5])  # mixed with floats
    assert mean_sd([2**1000 + i for i in range(4)])[1] == TRUE_SD  # beyond the rescaling limit too
    assert mean_sd([2**60 + 1]) == (float(2**60), 0.0)


def test_mean_sd_of_floats_is_unchanged():
    from crystallize.utils.moments import mean_sd

    values = [0.1 * i for i in range(1, 50)]
    assert mean_sd(values) == (statistics.fmean(values), statistics.stdev(values))
    assert mean_sd([2**60, 2**60 + 1.0]) == (float(2**60), 0.0)  # floats: their values as they are


@pytest.fixture(scope="module")
def big_ints():
    return run_metrics(lambda ctx, replicate, delta: ctx.metrics.add("ids", 2**60 + replicate), replicates=4)


def test_report_html_and_chart_show_the_true_sd_of_integers_beyond_2_53(big_ints):
    from crystallize.reporting_html import render_html
    from crystallize.reporting_html.summary import metric_summaries

    assert "1.153e+18 ± 1.291 (n=4)" in big_ints.report()
    (summary,) = metric_summaries(big_ints, "ids")
    assert summary.sd == TRUE_SD and summary.mean == float(2**60)
    assert summary.values == (float(2**60),) * 4  # plotted as floats
    half = summary.ci[1] - summary.mean
    assert summary.ci[0] <= summary.mean <= summary.ci[1] and half >= 0  # no float can tell 2**60 ± 2 apart
    page = re.sub(r"<svg.*?</svg>", "", render_html(big_ints), flags=re.S)
    row = re.search(r"title=\"baseline\">baseline</span></td>(.*?)</tr>", page).group(1)
    assert re.sub(r"<[^>]+>", " ", row).split()[:3] == ["4", "1.153e+18", "1.291"]


def test_summaries_of_ordinary_numbers_are_unchanged():
    from crystallize.reporting_html.summary import summarize

    summary = summarize("c", [1, 2, 3.5, True, "x", float("nan")])
    assert summary.values == (1.0, 2.0, 3.5, 1.0)
    assert summary.sd == statistics.stdev([1.0, 2.0, 3.5, 1.0]) and summary.skipped == 2


def test_to_json_of_big_integers_is_unchanged(big_ints):
    assert json.loads(big_ints.to_json())["metrics"]["baseline"]["ids"] == BIG_INTS


def test_report_and_chart_write_a_lone_surrogate_in_a_name_as_its_escape():
    # print(result.report()) failed even on UTF-8 with such a metric name.
    run = run_metrics(
        lambda ctx, replicate, delta: ctx.metrics.add("a\ud800b", replicate + delta),
        replicates=3,
        name="surrogate_report",
    )
    text = run.report()
    assert "a\\ud800b" in text
    text.encode("utf-8")  # printable anywhere UTF-8 is
    out = io.StringIO()
    run.print_chart("a\ud800b", console=Console(file=out, width=100, color_system=None))
    assert "a\\ud800b" in out.getvalue()
