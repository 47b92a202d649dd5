"""Number types beyond int and float (np.longdouble, Decimal, Fraction) in the run store,
and values no encoding can hold, which must never keep a run's records out of it."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
)
from crystallize.record import ReplicateRecord, StepRecord
from crystallize.store import load_result, open_store
from crystallize.store.serialize import (
    decode_record,
    dumps,
    encode_record,
    encode_record_lossy,
    json_default,
    loads,
)


def _record(metrics, steps=(), events=()):
    return ReplicateRecord("c", 0, 1, metrics, list(steps), events=list(events))


def _stored(tmp_path, records):
    with open_store(tmp_path / "data") as store:
        run = store.create_run(
            experiment="e", fingerprint="f", spec={}, replicates=len(records), conditions=["c"], base_seed=1
        )
        store.append_records(run.run_id, records)
        return store.load_records(run.run_id)


# -- np.longdouble / np.clongdouble ------------------------------------------------------


def test_a_longdouble_is_stored_as_the_nearest_float():
    value = np.longdouble("0.1")
    assert json_default(value) == 0.1 and type(json_default(value)) is float
    record = _record({"precise": [value, np.longdouble("nan"), np.array([np.longdouble("0.5")])]})
    back = decode_record("c", 0, encode_record(record)).metrics["precise"]
    assert back[0] == 0.1 and math.isnan(back[1]) and back[2] == [0.5]
    assert loads(dumps({"x": np.longdouble("-inf")})) == {"x": -math.inf}


def test_a_clongdouble_or_a_longdouble_beyond_float_range_is_stored_as_text():
    for value in (np.clongdouble(1j), np.longdouble("1e4000")):
        with pytest.raises(TypeError):
            json_default(value)
        payload, replaced = encode_record_lossy(_record({"x": [value]}))
        assert decode_record("c", 0, payload).metrics == {"x": [repr(value)]} and len(replaced) == 1


@data_source
def one(ctx):
    return 1


@pipeline_step()
def precise_metric(data, ctx):
    return data, {"loss": 0.25, "precise": np.longdouble("0.1")}


def test_a_longdouble_metric_keeps_no_record_out_of_the_store(tmp_path, caplog):
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([precise_metric()]), replicates=3, name="ld",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert "store_error" not in result.info and "could not be written" not in caplog.text
    assert json.loads(result.to_json())["metrics"]["baseline"]["precise"] == [0.1] * 3
    assert result.to_dict()["metrics"]["baseline"]["precise"] == [0.1] * 3
    stored = load_result(result.run_id, tmp_path / "data")
    assert stored.metrics.baseline.metrics["precise"] == [0.1] * 3
    assert experiment.run(strategy="resume").info["resumed"] == 3


# -- Decimal and Fraction --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Decimal("0.134"), 0.134),
        (Decimal(5), 5),
        (Decimal("-7"), -7),
        (Decimal("5.0"), 5.0),
        (Decimal("1E+2"), 100.0),
        (Decimal("1E-7"), 1e-7),
        (Decimal("Infinity"), math.inf),
        (Decimal("-Infinity"), -math.inf),
        (Fraction(1, 4), 0.25),
        (Fraction(1, 3), 1 / 3),
        (Fraction(6, 3), 2.0),
    ],
)
def test_decimals_and_fractions_are_stored_as_numbers(value, stored):
    back = decode_record("c", 0, encode_record(_record({"m": [value]}))).metrics["m"][0]
    assert back == stored and type(back) is type(stored)
    assert loads(dumps([value])) == [stored]


def test_nan_decimals_are_stored_as_nan():
    back = decode_record("c", 0, encode_record(_record({"m": [Decimal("NaN"), Decimal("sNaN")]})))
    assert all(math.isnan(value) for value in back.metrics["m"])


def test_a_decimal_or_fraction_beyond_float_range_is_stored_as_text():
    for value in (Decimal("1E+400"), Fraction(10**400, 3)):
        payload, replaced = encode_record_lossy(_record({"m": [value]}))
        assert decode_record("c", 0, payload).metrics == {"m": [repr(value)]} and replaced


@pipeline_step()
def decimal_metric(data, ctx, a=0):
    return data, {"dec": Decimal(a) + Decimal(str(round(random.random(), 3)))}


def test_a_resumed_run_of_decimal_metrics_gives_the_verdict_of_the_fresh_run(tmp_path):
    from crystallize.stats import welch_t_test

    check = hypothesis(verifier=welch_t_test(), metrics="dec", name="h")(lambda r: r.get("p_value", 1))
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([decimal_metric()]), replicates=4, name="decres",
        treatments=[treatment("t", {"a": 1})], hypotheses=[check],
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    fresh = experiment.run().get_hypothesis("h").results["t"]
    resumed = experiment.run(strategy="resume")
    assert resumed.info["resumed"] == 8
    again = resumed.get_hypothesis("h").results["t"]
    assert again.get("error") is None and fresh.get("error") is None
    assert again["p_value"] == pytest.approx(fresh["p_value"])
    assert all(isinstance(v, float) for v in resumed.metrics.baseline.metrics["dec"])


# -- no value keeps its record out of the store ----------------------------------------


class _RaisingToList:
    def tolist(self):
        raise RuntimeError("tolist failed")

    def __repr__(self):
        raise ValueError("no repr either")


class _Ping:
    def tolist(self):
        return _Pong()


class _Pong:
    def tolist(self):
        return _Ping()


def test_json_default_raises_only_type_error():
    for value in (_RaisingToList(), np.clongdouble(1j), object(), complex(1, 2)):
        with pytest.raises(TypeError):
            json_default(value)
    assert isinstance(json_default(_Ping()), _Pong)  # one conversion a call


def test_values_no_encoding_holds_are_stored_as_text_and_the_rest_kept(tmp_path, caplog):
    cycle: list = []
    cycle.append(cycle)
    looped: dict = {}
    looped["me"] = looped
    step = StepRecord("s", {"p": cycle}, "a", "b", False, {}, [], {"m": [cycle, 3]}, 0.1)
    record = _record(
        {"ok": [1.5], "cycle": [cycle], "loop": [looped], "raising": [_RaisingToList()], "ping": [_Ping(), 2]},
        steps=[step],
        events=[("e", {"x": _RaisingToList()})],
    )
    [back] = _stored(tmp_path, [record])
    assert back.metrics["ok"] == [1.5] and back.metrics["ping"][1] == 2
    assert back.metrics["raising"] == ["<_RaisingToList object: repr() failed>"]
    assert back.metrics["cycle"] == [["[[...]]"]] and back.metrics["loop"] == [{"me": "{'me': {...}}"}]
    assert isinstance(back.metrics["ping"][0], str)
    assert back.steps[0].params == {"p": ["[[...]]"]} and back.steps[0].metrics == {"m": ["[[...]]", 3]}
    assert back.events == [("e", {"x": "<_RaisingToList object: repr() failed>"})]
    assert "metrics 'cycle', 'loop', 'raising', 'ping'" in caplog.text
