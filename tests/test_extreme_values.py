"""Metric values at the edges: numbers too large for a float, integers too long for text,
NaN, and metric columns Parquet cannot hold as one type."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import VerificationError
from crystallize.hypothesis import MetricSamples
from crystallize.record import ReplicateRecord, StepRecord
from crystallize.stats import chi2, fisher_exact, mann_whitney, paired_t_test, welch_t_test

HUGE = 10**400  # an int too large for a float
LONG = 10**5000  # an int too long for str() (over 4300 digits)


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def record(data, ctx, *, shift=0, values=None):
    r = ctx["replicate"]
    return data, {name: options[r % len(options)] for name, options in (values or {}).items()}


def run(values: dict, *, replicates: int = 2, name: str = "edge", shift: bool = False, **kwargs):
    """Run an experiment whose step records ``values[name][replicate % len]`` per metric."""
    treatments = [treatment("up", {"shift": 1})] if shift else []
    return Experiment(
        datasource=zero(), pipeline=Pipeline([record()]), replicates=replicates, name=name,
        initial_ctx={"values": values}, treatments=treatments, plugins=[SeedPlugin(seed=0)], **kwargs,
    ).run()


# -- 1. numbers too large for a float ------------------------------------------------------


def test_numeric_values_count_an_int_too_large_for_a_float_as_infinite():
    from crystallize.reporting_html.summary import numeric_values, summarize

    assert numeric_values([HUGE, 1, -HUGE, 2.5]) == [1.0, 2.5]
    summary = summarize("baseline", [HUGE, 1, 3])
    assert summary is not None and summary.mean == 2 and summary.skipped == 1


def test_html_report_and_chart_take_an_int_too_large_for_a_float():
    from crystallize.terminal_chart import render_terminal_chart

    result = run({"count": [HUGE, HUGE + 1], "ratio": [0.5, 1.5]})
    html = result.to_html()
    assert "count" in html and "ratio" in html
    chart = render_terminal_chart(result)
    assert "count: no numeric values" in chart
    assert "ratio" in chart and "95% CI" in chart


def test_verifiers_refuse_an_int_too_large_for_a_float_as_an_infinite_value():
    baseline = MetricSamples({"m": [1, 2, HUGE]}, {"m": [0, 1, 4]})
    treatment = {"m": [1.0, 2.0, 3.0]}
    for verify in (welch_t_test(), paired_t_test(), mann_whitney()):
        with pytest.raises(VerificationError) as caught:
            verify(baseline, treatment)
        message = str(caught.value)
        assert "metric 'm' in the baseline condition" in message
        assert "infinite" in message and "too large for a float" in message
        assert "replicate(s) 4" in message


# -- 5. binary tests name the replicate ------------------------------------------------------


@pytest.mark.parametrize("verify", [fisher_exact(), chi2()])
def test_binary_tests_name_the_replicate_and_the_value_as_recorded(verify):
    baseline = MetricSamples({"ok": [1, 0, 2, 1]}, {"ok": [1, 2, 3, 4]})
    treatment = MetricSamples({"ok": [1, 0, 1, 1]}, {"ok": [0, 1, 2, 3]})
    with pytest.raises(VerificationError) as caught:
        verify(baseline, treatment)
    assert "has 2 at replicate 3." in str(caught.value)


def test_binary_test_in_a_run_names_the_replicate_after_a_failed_one():
    @pipeline_step()
    def flaky(data, ctx, *, s=0):
        r = ctx["replicate"]
        if r == 0 and s == 0:
            raise RuntimeError("flaky")
        return data, {"ok": 2 if r == 3 else r % 2}

    hyp = hypothesis(verifier=fisher_exact(), metrics="ok", name="f")(lambda r: 0)
    result = Experiment(
        datasource=zero(), pipeline=Pipeline([flaky()]), replicates=5, name="fidx",
        treatments=[treatment("t", {"s": 1})], hypotheses=[hyp], plugins=[SeedPlugin(seed=0)],
    ).run()
    error = result.get_hypothesis("f").results["t"]["error"]
    assert "has 2 at replicate 3." in error


# -- 2. integers too long for text --------------------------------------------------------


def test_lossy_encoding_stores_an_int_too_long_for_text_as_hex():
    from crystallize.store.serialize import decode_record, encode_record_lossy

    record = ReplicateRecord("baseline", 0, 1, {"m": [LONG], "ok": [1.5]}, [])
    payload, replaced = encode_record_lossy(record)
    back = decode_record("baseline", 0, payload)
    assert back.metrics["ok"] == [1.5]
    assert int(back.metrics["m"][0], 16) == LONG
    assert replaced == ["int with 5001 digits (stored as hexadecimal text)"]


@pipeline_step()
def long_metric(data, ctx):
    sign = 1 if ctx["replicate"] == 0 else -1
    return data, {"m": sign * 10**5000, "ok": ctx["replicate"] + 1}


def test_a_run_with_an_int_too_long_for_text_is_stored(caplog):
    from crystallize.store import load_result

    result = Experiment(
        datasource=zero(), pipeline=Pipeline([long_metric()]), replicates=2, name="long", plugins=[SeedPlugin(seed=0)]
    ).run()
    assert not result.errors
    assert not result.info.get("store_error")
    assert "int with 5001 digits" in caplog.text
    loaded = load_result(result.run_id, "data")
    assert len(loaded.records) == 2
    assert loaded.metrics.baseline.metrics["ok"] == [1, 2]
    assert [int(text, 16) for text in loaded.metrics.baseline.metrics["m"]] == [LONG, -LONG]
    data = json.loads(result.to_json())
    assert [int(text, 16) for text in data["metrics"]["baseline"]["m"]] == [LONG, -LONG]
    assert result.to_dict()["metrics"]["baseline"]["ok"] == [1, 2]


# -- 6. the stored-as-text warning names each value once -----------------------------------


def test_stored_as_text_lists_each_value_once():
    from crystallize.store.serialize import encode_record_lossy

    metrics = {"c": [1 + 2j]}
    step = StepRecord("rec", {}, metrics=metrics)
    _, replaced = encode_record_lossy(ReplicateRecord("baseline", 0, 1, metrics, [step]))
    assert replaced == ["complex (1+2j)"]


# -- 3. Parquet ------------------------------------------------------------------------------


def test_to_parquet_writes_columns_arrow_cannot_type_as_json_text(tmp_path: Path):
    pytest.importorskip("pyarrow")

    @pipeline_step()
    def several(data, ctx):
        r = ctx["replicate"]
        ctx.metrics.add("loss", 1.0)
        if r == 1:
            ctx.metrics.add("loss", 0.5)
        ctx.metrics.add("big", 2**70)
        ctx.metrics.add("mixed", [1.5, "n/a", None][r])
        ctx.metrics.add("plain", r * 1.0)
        return data

    result = Experiment(
        datasource=zero(), pipeline=Pipeline([several()]), replicates=3, name="pq", plugins=[SeedPlugin(seed=0)]
    ).run()
    result.to_parquet(tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert [json.loads(v) for v in back["loss"]] == [1.0, [1.0, 0.5], 1.0]
    assert [json.loads(v) for v in back["big"]] == [2**70] * 3
    assert list(back["mixed"][:2]) == ["1.5", '"n/a"'] and pd.isna(back["mixed"][2])
    assert back["plain"].tolist() == [0.0, 1.0, 2.0]  # columns Arrow can type stay as they are


# -- 4. NaN in diff and in the CLI's JSON ------------------------------------------------------


def test_diff_means_leave_out_nan_and_inf_like_the_report():
    from crystallize.cli.diff import compare_conditions, mean_of

    assert mean_of([math.nan, 1, 3]) == 2
    assert mean_of([HUGE, math.inf]) is None
    result = run({"ratio": [math.nan, 1.0, 3.0], "count": [HUGE]}, replicates=3, shift=True)
    rows = {row.metric: row for row in compare_conditions(result, "baseline", "up")}
    assert rows["ratio"].mean_a == 2 and rows["ratio"].left_out == (1, 1)
    assert rows["count"].mean_a is None and rows["count"].left_out == (3, 3)


def test_strict_dumps_writes_null_for_non_finite_numbers():
    from crystallize.store.serialize import strict_dumps

    text = strict_dumps({"a": [math.nan, math.inf, -math.inf, 1.5], "b": {"c": (math.nan,)}, "n": 2**70})
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard literal {name}")) == {
        "a": [None, None, None, 1.5], "b": {"c": [None]}, "n": 2**70
    }


def _crystallize() -> list[str]:
    script = shutil.which("crystallize", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "crystallize.cli"]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([*_crystallize(), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def rec(data, ctx, *, shift=0):
    r = ctx["replicate"]
    return data, {"count": 10**400 + shift, "ratio": float("nan") if r == 0 else r + shift}
'''

CONFIG = '''
name: bigm
replicates: 3
datasource: {base: src}
steps: [rec]
initial_ctx: {shift: 0}
treatments:
  up: {shift: 1}
plugins:
  seed: {seed: 1}
'''


def test_cli_commands_take_nan_and_ints_too_large_for_a_float(tmp_path: Path):
    folder = tmp_path / "experiments" / "bigm"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    (folder / "steps.py").write_text(STEPS, encoding="utf-8")
    (folder / "datasources.py").write_text(
        "from crystallize import data_source\n\n@data_source\ndef src(ctx):\n    return 0\n", encoding="utf-8"
    )
    proc = _cli(tmp_path, "run", "bigm", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout, parse_constant=lambda name: pytest.fail(f"non-standard literal {name}"))
    assert data["metrics"]["baseline"]["ratio"] == [None, 1, 2]
    run_id = data["run_id"]

    diff = _cli(tmp_path, "diff", run_id, "--treatments", "baseline", "up")
    assert diff.returncode == 0, diff.stderr
    assert "nan" not in diff.stdout
    ratio = next(line for line in diff.stdout.splitlines() if " ratio " in line).split()
    assert ratio[-4:] == ["1.5", "2.5", "+1", "+66.7%"]
    assert "NaN/±inf values left out of the means, as in the report: count (3 in baseline, 3 in up); ratio (1 in baseline, 1 in up)" in diff.stdout
    rows = json.loads(_cli(tmp_path, "diff", run_id, "--treatments", "baseline", "up", "--json").stdout)["metrics"]
    assert {r["metric"]: r["mean_a"] for r in rows} == {"count": None, "ratio": 1.5}

    show = _cli(tmp_path, "show", "bigm")
    assert show.returncode == 0, show.stderr
    assert "count: no numeric values" in show.stdout
    report = _cli(tmp_path, "report", "bigm", "-o", "out/big.html")
    assert report.returncode == 0, report.stderr
    assert "count" in (tmp_path / "out" / "big.html").read_text(encoding="utf-8")
