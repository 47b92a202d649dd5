"""The DataFrame, Parquet and JSON exports hold what ``result.metrics`` holds, value for value."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


def run(step, replicates: int = 3):
    """Run ``step`` alone for ``replicates`` replicates (seeded, so rows are stable)."""
    return Experiment(
        datasource=replicate_index(), pipeline=Pipeline([step]), replicates=replicates,
        plugins=[SeedPlugin(seed=1)], name="fidelity",
    ).run()


# -- 1. a failed replicate adds no metrics to the frame either -------------------------------
@pipeline_step()
def diverges(data, ctx):
    ctx.record("loss", 100.0 if data == 2 else 1.0, tags={"epoch": 1})
    if data == 2:
        ctx.record("only_failed", 5.0)
        raise FloatingPointError("diverged")  # after recording its metrics
    return data


def test_failed_replicates_keep_their_row_but_add_no_metric_values(tmp_path):
    pytest.importorskip("pyarrow")
    result = run(diverges(), replicates=4)
    frame = result.to_dataframe()
    assert result.metrics.baseline.metrics["loss"] == [1.0, 1.0, 1.0]
    assert frame.groupby("condition")["loss"].mean().to_dict() == {"baseline": 1.0}
    assert frame.loss.notna().tolist() == [True, True, False, True]
    failed = frame.iloc[2]
    assert failed.replicate == 2 and failed.seed == result.records[2].seed
    assert "diverged" in failed.error
    assert failed.metric_tags is None and frame.metric_tags[0] == {"loss": [{"epoch": 1}]}
    assert "only_failed" not in frame.columns  # no successful replicate recorded it
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back.loss.notna().tolist() == [True, True, False, True] and pd.isna(back.metric_tags[2])


# -- 2. integers and booleans some rows lack keep their exact values ---------------------------
@pipeline_step()
def ids(data, ctx):
    if data == 1:
        raise OSError("shard missing")  # a row with no metrics at all
    ctx.record("data_hash", 0x7FFF_FFFF_FFFF_FFF1 - data)  # near the int64 limit
    ctx.record("unsigned", 2**63 + 5 + data)  # beyond int64, within uint64
    ctx.record("unsigned_from_limit", 2**63 + data)  # first value exactly 2**63
    ctx.record("huge", 2**70 + data)  # beyond 64 bits
    ctx.record("flag", data == 0)
    ctx.record("count", data)  # a column without gaps in the succeeding rows
    if data == 0:
        ctx.record("ragged", 2**53 + 1)  # only some succeeding replicates record it
    return data


def test_integer_and_bool_columns_with_gaps_keep_exact_values(tmp_path):
    pytest.importorskip("pyarrow")
    result = run(ids())
    frame = result.to_dataframe()
    assert str(frame.data_hash.dtype) == "Int64"
    assert frame.data_hash.tolist()[::2] == [0x7FFF_FFFF_FFFF_FFF1, 0x7FFF_FFFF_FFFF_FFF1 - 2]
    assert str(frame.unsigned.dtype) == "UInt64" and frame.unsigned[2] == 2**63 + 7
    assert frame.unsigned_from_limit[0] == 2**63 and frame.unsigned_from_limit[2] == 2**63 + 2
    assert frame.huge.dtype == object and frame.huge[2] == 2**70 + 2
    assert str(frame.flag.dtype) == "boolean" and frame.flag.tolist()[::2] == [True, False]
    assert str(frame.ragged.dtype) == "Int64" and frame.ragged[0] == 2**53 + 1
    assert frame.data_hash.isna().tolist() == [False, True, False]
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    for column in ("data_hash", "unsigned", "flag", "ragged"):
        assert back[column].dtype == frame[column].dtype
        assert back[column].tolist()[::2] == frame[column].tolist()[::2]
    assert [json.loads(text) for text in back.huge[::2]] == [2**70, 2**70 + 2]


@pipeline_step()
def whole(data, ctx):
    return data, {"count": data, "flag": data > 0, "score": data / 2}


def test_columns_without_gaps_keep_their_plain_types():
    frame = run(whole()).to_dataframe()
    assert [str(frame[c].dtype) for c in ("count", "flag", "score")] == ["int64", "bool", "float64"]


# -- 3. a metric already named "metric:error" -----------------------------------------------
@pipeline_step()
def clashing(data, ctx):
    return data, {"error": 99, "metric:error": 7, "metric:error:2": 3}


def test_renamed_metric_never_collides_with_a_metric_of_that_name():
    note = r"'error'.*'metric:error:3' \(other metrics already have the name\(s\) 'metric:error'"
    with pytest.warns(UserWarning, match=note):
        frame = run(clashing(), replicates=1).to_dataframe()
    assert frame["metric:error"][0] == 7 and frame["metric:error:2"][0] == 3
    assert frame["metric:error:3"][0] == 99 and frame.error[0] is None


# -- 4. dict metrics in Parquet ---------------------------------------------------------------
@pipeline_step()
def dicts(data, ctx):
    ctx.record("keys", {"a": 1} if data == 0 else {"b": 2})  # key sets differ
    ctx.record("kinds", {"a": 1} if data == 0 else {"a": 2.5})  # an int and a float
    ctx.record("nested", [{"a": 1}] if data == 0 else [{"b": 2}])
    return data


def test_to_parquet_writes_dict_metrics_as_json_text(tmp_path):
    pytest.importorskip("pyarrow")
    result = run(dicts(), replicates=2)
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    for metric in ("keys", "kinds", "nested"):
        recorded = result.metrics.baseline.metrics[metric]
        assert [json.loads(text) for text in back[metric]] == recorded


@pipeline_step()
def complex_numbers(data, ctx):
    return data, {"z": complex(1, data), "plain": data}


def test_to_parquet_writes_complex_metrics_as_json_text(tmp_path):
    pytest.importorskip("pyarrow")
    result = run(complex_numbers(), replicates=2)
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert [json.loads(text) for text in back["z"]] == ["(1+0j)", "(1+1j)"]
    assert back["plain"].tolist() == [0, 1]


# -- 5. to_json writes text as is, at any indent ----------------------------------------------
@pipeline_step()
def named(data, ctx):
    return data, {"größe": 1.0, "名前": "ü", "nan": float("nan")}


@pytest.mark.parametrize("indent", [None, 0, 2, 4])
def test_to_json_writes_non_ascii_text_as_is_at_any_indent(tmp_path, indent):
    result = run(named(), replicates=1)
    text = result.to_json(tmp_path / "r.json", indent=indent)
    assert "größe" in text and "名前" in text and "\\u" not in text
    back = json.loads((tmp_path / "r.json").read_text("utf-8"))
    metrics = back["metrics"]["baseline"]
    assert metrics["名前"] == ["ü"] and metrics["nan"][0] != metrics["nan"][0]  # NaN written as NaN


@pipeline_step()
def surrogate(data, ctx):
    return data, {"größe": 1.0, "lone": "\ud800"}


@pytest.mark.parametrize("indent", [2, 4])
def test_to_json_escapes_only_a_lone_surrogate(tmp_path, indent):
    text = run(surrogate(), replicates=1).to_json(tmp_path / "r.json", indent=indent)
    assert "größe" in text and "\\ud800" in text  # UTF-8 has no form for a lone surrogate
    back = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert back["metrics"]["baseline"]["lone"] == ["\ud800"]


# -- 6. to_parquet creates a missing parent directory, like to_json and to_html ---------------
def test_to_parquet_creates_missing_parent_directories(tmp_path):
    pytest.importorskip("pyarrow")
    result = run(whole(), replicates=2)
    target = tmp_path / "missing" / "parent" / "r.parquet"
    result.to_parquet(target)
    assert pd.read_parquet(target)["count"].tolist() == [0, 1]


def test_to_dataframe_warns_nothing_for_plain_metrics():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(whole(), replicates=2).to_dataframe()


def test_to_parquet_writes_to_a_file_object(tmp_path):
    pytest.importorskip("pyarrow")
    """A buffer (for an upload, or in a notebook) is written as pandas writes it."""
    import io

    buffer = io.BytesIO()
    run(whole(), replicates=2).to_parquet(buffer)
    buffer.seek(0)
    assert pd.read_parquet(buffer)["count"].tolist() == [0, 1]
