"""``crystallize show``, ``runs`` and ``diff``: past runs from the store."""

from __future__ import annotations

import json


def _run_id(cli, *args: str, code: int = 0) -> str:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == code, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def test_runs_lists_past_runs(cli, make_experiment):
    make_experiment("numbers")
    first = _run_id(cli)
    second = _run_id(cli, "--set", "fail_on=0", code=1)
    proc = cli("runs", "numbers")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index(second) < out.index(first)  # newest first
    assert "completed" in out
    rows = json.loads(cli("runs", "numbers", "--json").stdout)
    assert [r["run_id"] for r in rows] == [second, first]
    assert rows[0]["errors"] == 3 and rows[1]["errors"] == 0
    assert rows[0]["records"] == 9


def test_show_prints_the_latest_report_and_a_chart(cli, make_experiment):
    make_experiment("numbers")
    first = _run_id(cli)
    second = _run_id(cli, "--set", "replicates=2")
    proc = cli("show", "numbers")
    assert proc.returncode == 0, proc.stderr
    assert f"Run {second} of 'numbers' · completed" in proc.stdout
    assert "Metrics (mean ± sd)" in proc.stdout
    assert "distribution" in proc.stdout and "95% CI" in proc.stdout  # the terminal chart
    older = cli("show", "numbers", "--run", first[:6], "--no-chart")
    assert f"Run {first} of 'numbers'" in older.stdout
    assert "distribution" not in older.stdout


def test_diff_two_runs_shows_config_and_metric_changes(cli, make_experiment):
    make_experiment("numbers")
    a = _run_id(cli)
    b = _run_id(cli, "--set", "treatments.shifted.delta=10")
    proc = cli("diff", a, b)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "treatments.shifted.delta: 3.0 → 10" in out
    assert "mean A" in out and "mean B" in out and "delta" in out
    data = json.loads(cli("diff", a, b, "--json").stdout)
    assert data["config"] == [{"path": "treatments.shifted.delta", "a": 3.0, "b": 10}]
    rows = {(r["condition"], r["metric"]): r for r in data["metrics"]}
    assert abs(rows["shifted", "total"]["delta"] - 6 * 7) < 1e-9
    assert abs(rows["baseline", "total"]["delta"]) < 1e-9


def test_diff_two_treatments_of_one_run(cli, make_experiment):
    make_experiment("numbers")
    run = _run_id(cli)
    data = json.loads(cli("diff", run, "--treatments", "shifted", "doubled", "--json").stdout)
    assert data["config"] == [{"path": "delta", "a": 3.0, "b": 6.0}]
    (row,) = data["metrics"]
    assert row["condition"] == "shifted → doubled"
    assert abs(row["delta"] - 6 * 3) < 1e-9
    text = cli("diff", run, "--treatments", "baseline", "shifted").stdout
    assert "baseline → shifted" in text
