"""The text report's metrics table: one column per metric while it fits, else one row
per condition × metric."""

from __future__ import annotations

import re

from crystallize.record import ReplicateRecord
from crystallize.reporting import TABLE_WIDTH, metric_summary, render_report
from crystallize.result import Result


def _result(metrics: list[str], conditions: tuple[str, ...] = ("baseline", "t")) -> Result:
    records = [
        ReplicateRecord(c, r, r, {m: [float(r + 2 * i + j)] for j, m in enumerate(metrics)}, [])
        for i, c in enumerate(conditions) for r in range(3)
    ]
    return Result(records, list(conditions), experiment="wide")


def _metrics_table(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Metrics (mean ± sd)") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_a_narrow_table_has_one_column_per_metric():
    result = _result(["loss", "accuracy"])
    table = _metrics_table(render_report(result))
    summaries = {c: result.metrics.conditions()[c].metrics for c in ("baseline", "t")}
    assert _cells(table[0]) == ["condition", "loss", "accuracy"]
    assert set(table[1]) == {"-", " "}
    assert [_cells(line) for line in table[2:]] == [
        [c, metric_summary(summaries[c]["loss"]), metric_summary(summaries[c]["accuracy"])] for c in ("baseline", "t")
    ]


def test_a_table_wider_than_the_limit_has_one_row_per_condition_and_metric():
    metrics = [f"metric_{i:03d}_of_a_wide_run" for i in range(40)]
    result = _result(metrics)
    table = _metrics_table(render_report(result))
    assert max(len(line) for line in table) <= TABLE_WIDTH, "no line wider than the limit"
    assert _cells(table[0]) == ["condition", "metric", "mean ± sd"]
    rows = [_cells(line) for line in table[2:]]
    conditions = result.metrics.conditions()
    assert rows == [
        [c, m, metric_summary(conditions[c].metrics[m])] for c in ("baseline", "t") for m in metrics
    ]


def test_the_width_limit_can_be_given():
    result = _result(["loss", "accuracy", "f1"])
    assert _cells(_metrics_table(render_report(result))[0]) == ["condition", "loss", "accuracy", "f1"]
    narrow = _metrics_table(render_report(result, width=40))
    assert _cells(narrow[0]) == ["condition", "metric", "mean ± sd"] and len(narrow) == 2 + 2 * 3
    assert result.report() == render_report(result), "report() uses the default limit"


def test_a_missing_metric_shows_a_dash_in_the_long_layout():
    records = [ReplicateRecord("baseline", r, r, {"a": [1.0], "b": [2.0]}, []) for r in range(2)]
    records += [ReplicateRecord("t", r, r, {"a": [1.5]}, []) for r in range(2)]
    table = _metrics_table(render_report(Result(records, ["baseline", "t"]), width=20))
    assert [_cells(line) for line in table[2:]][-1] == ["t", "b", "-"]


def test_one_metric_of_a_long_named_condition_keeps_its_layout():
    long_name = "a_condition_with_a_name_longer_than_the_limit_" * 4
    table = _metrics_table(render_report(_result(["loss"], ("baseline", long_name))))
    assert _cells(table[0]) == ["condition", "loss"] and _cells(table[3])[0] == long_name
