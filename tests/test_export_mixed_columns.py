"""Metric columns mixing kinds of numbers: to_dataframe and to_parquet keep every value exact
and give the column one type, whatever the order of the rows."""

from __future__ import annotations

import json
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step

BIG = 2**53 + 1  # the smallest positive integer a float64 cannot hold


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


def run_values(values: list) -> object:
    """A run whose replicate ``i`` records metric ``m`` as ``values[i]`` (a list: each item
    recorded in turn; ``"gap"``: not recorded at all)."""

    @pipeline_step()
    def emit(data, ctx):
        value = values[data]
        if isinstance(value, list):
            for item in value:
                ctx.record("m", item)
        elif not (isinstance(value, str) and value == "gap"):
            ctx.record("m", value)
        return data

    return Experiment(
        datasource=replicate_index(),
        pipeline=Pipeline([emit()]),
        replicates=len(values),
        plugins=[SeedPlugin(seed=1)],
        name="mixed",
    ).run()


def orders(values: list) -> list[list]:
    """Every order of ``values``."""
    return [list(order) for order in permutations(values)]


def parquet_column(result, tmp_path) -> pd.Series:
    """Column ``m`` of ``result`` written to Parquet and read back."""
    pytest.importorskip("pyarrow")
    path = tmp_path / "r.parquet"
    result.to_parquet(path)
    return pd.read_parquet(path)["m"]


def same(read: object, written: object) -> bool:
    """``read == written``, with their types (``False`` is not ``0.0``), a missing value for
    a missing one."""
    if written is None or written == "gap":
        return read is None or (isinstance(read, float) and read != read)
    if isinstance(written, list):
        return (
            isinstance(read, list) and len(read) == len(written) and all(map(same, read, written))
        )
    return type(read) is type(written) and read == written


# -- to_dataframe ------------------------------------------------------------------------
@pytest.mark.parametrize("values", orders(["gap", BIG, 0.0]))
def test_dataframe_keeps_a_big_int_next_to_a_float_exact(values):
    frame = run_values(values).to_dataframe()
    assert frame.m.dtype == object  # whatever the order of the rows
    assert all(same(read, written) for read, written in zip(frame.m.tolist(), values, strict=True))


@pytest.mark.parametrize("values", orders([np.int64(BIG), 0.5, np.int64(-BIG)]))
def test_dataframe_keeps_big_numpy_ints_next_to_a_float_exact(values):
    frame = run_values(values).to_dataframe()
    assert frame.m.dtype == object
    assert [type(v) for v in frame.m] == [type(v) for v in values]
    assert [int(v) if v != 0.5 else v for v in frame.m] == [
        int(v) if v != 0.5 else v for v in values
    ]


@pytest.mark.parametrize("values", orders(["gap", 3, 0.5]))
def test_dataframe_keeps_small_ints_next_to_floats_as_float64(values):
    frame = run_values(values).to_dataframe()  # every int is exact as a float
    assert frame.m.dtype == "float64"
    assert frame.m.fillna(-1).tolist() == [-1.0 if v == "gap" else float(v) for v in values]


@pytest.mark.parametrize("values", orders([None, 0.5, False]))
def test_dataframe_keeps_bools_next_to_floats_as_they_are(values):
    frame = run_values(values).to_dataframe()
    assert frame.m.dtype == object
    assert all(same(read, written) for read, written in zip(frame.m.tolist(), values, strict=True))


# -- to_parquet --------------------------------------------------------------------------
@pytest.mark.parametrize("values", orders([None, 0.5, False]))
def test_parquet_writes_bools_next_to_floats_as_json_text(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)
    assert all(isinstance(text, str) or pd.isna(text) for text in back)  # in every order
    read = [None if pd.isna(text) else json.loads(text) for text in back]
    assert all(same(r, w) for r, w in zip(read, values, strict=True))


@pytest.mark.parametrize("values", orders([True, 2, 0.5]))
def test_parquet_writes_bools_next_to_ints_and_floats_as_json_text(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)
    assert all(same(json.loads(text), written) for text, written in zip(back, values, strict=True))


@pytest.mark.parametrize("values", orders(["gap", BIG, 0.0]))
def test_parquet_writes_a_big_int_next_to_a_float_as_json_text(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)
    read = [None if pd.isna(text) else json.loads(text) for text in back]
    assert all(same(r, w) for r, w in zip(read, values, strict=True))


@pytest.mark.parametrize("values", orders([[True, False], [0.5, 1.5]]))
def test_parquet_writes_lists_of_bools_next_to_lists_of_floats_as_json_text(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)
    assert [json.loads(text) for text in back] == values
    assert all(same(json.loads(text), written) for text, written in zip(back, values, strict=True))


@pytest.mark.parametrize("values", orders([[1, 2], [0.5, 1.5]]))
def test_parquet_keeps_lists_of_ints_and_floats_as_float_lists(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)  # ints exact as floats: no JSON
    assert [list(row) for row in back] == [[float(v) for v in row] for row in values]


@pytest.mark.parametrize("values", orders(["gap", True, False]))
def test_parquet_keeps_bool_columns_with_gaps_boolean(values, tmp_path):
    back = parquet_column(run_values(values), tmp_path)
    assert str(back.dtype) == "boolean"
    assert [None if pd.isna(v) else v for v in back] == [None if v == "gap" else v for v in values]
