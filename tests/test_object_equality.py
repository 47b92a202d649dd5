"""Equality and hashing of HypothesisResult, Treatment and RunInfo (audit: results
compared by identity, a reshaping treatment was not equal to its own copy, comparing a
treatment with a foreign object did not defer to it, RunInfo could not be hashed)."""

from __future__ import annotations

import copy
import math
import pickle

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    hypothesis,
    pipeline_step,
    verifier,
)
from crystallize.hypothesis import HypothesisResult
from crystallize.store import list_runs, load_result


@data_source
def numbers(ctx, n=3):
    return list(range(n))


@pipeline_step()
def add(data, ctx, *, delta=0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    return data, {"total": float(sum(data))}


@verifier
def gain(baseline, treatment):
    return {"gain": treatment["total"][0] - baseline["total"][0], "p_value": math.nan}


@hypothesis(verifier=gain(), metrics="total", name="h_total")
def rank(result):
    return result["p_value"]  # NaN: nothing ranked


def _run(hypotheses=(rank,)):
    experiment = Experiment(
        datasource=numbers(),
        pipeline=Pipeline([add(), total()]),
        plugins=[SeedPlugin(seed=1)],
        treatments=[Treatment("plus1", {"delta": 1})],
        hypotheses=list(hypotheses),
        replicates=2,
        name="equality",
    )
    return experiment.run()


def _verdict(**changes):
    fields = {
        "name": "h",
        "results": {"t": {"p_value": math.nan, "ci": [0.5, math.nan]}},
        "ranking": ["t"],
        "scores": {"t": math.nan},
        "metrics": ["m"],
        "correction": None,
    }
    return HypothesisResult(**{**fields, **changes})


# -- HypothesisResult ---------------------------------------------------------------------
def test_a_hypothesis_result_equals_the_same_one_loaded_from_the_store_and_unpickled():
    result = _run()
    live = result.get_hypothesis("h_total")
    loaded = load_result(result.run_id, "data").get_hypothesis("h_total")
    assert math.isnan(live.scores["plus1"])  # NaN p-values and scores compare equal
    assert live == loaded
    assert live == pickle.loads(pickle.dumps(live))
    assert live == copy.deepcopy(live)


def test_hypothesis_results_differing_in_any_field_are_not_equal():
    assert _verdict() == _verdict()
    assert _verdict() != _verdict(name="other")
    assert _verdict() != _verdict(scores={"t": 0.5})
    assert _verdict() != _verdict(results={"t": {"p_value": 0.01, "ci": [0.5, math.nan]}})
    assert _verdict() != _verdict(correction="holm")
    assert _verdict() != _verdict(error="boom")


def test_a_hypothesis_result_with_numpy_values_equals_its_plain_form():
    import numpy as np

    live = _verdict(results={"t": {"p_value": np.float64("nan"), "ci": np.array([0.5, np.nan])}})
    assert live == _verdict()
    assert live != _verdict(results={"t": {"p_value": math.nan, "ci": [0.6, math.nan]}})


def test_a_hypothesis_result_defers_to_other_types_and_is_unhashable():
    assert _verdict().__eq__(object()) is NotImplemented
    assert HypothesisResult.__hash__ is None  # mutable, like ReplicateRecord


# -- Treatment ----------------------------------------------------------------------------
def test_a_treatment_defers_to_other_types():
    assert Treatment("t", {"a": 1}).__eq__(object()) is NotImplemented


def test_reshaping_treatments_equal_their_copies_and_pickles():
    made = [
        Treatment("big", {"delta": 1}, datasource=numbers(n=10)),
        Treatment("swap", steps={"add": add(delta=3)}),
        Treatment("whole", pipeline=[add(delta=2), total()]),
    ]
    for treatment in made:
        assert copy.deepcopy(treatment) == treatment
        assert pickle.loads(pickle.dumps(treatment)) == treatment


def test_reshaping_treatments_built_alike_are_equal_and_differing_ones_are_not():
    assert Treatment("big", datasource=numbers(n=10)) == Treatment("big", datasource=numbers(n=10))
    assert Treatment("big", datasource=numbers(n=10)) != Treatment("big", datasource=numbers(n=11))
    assert Treatment("s", steps={"add": add(delta=3)}) != Treatment("s", steps={"add": add(delta=4)})
    assert Treatment("w", pipeline=[add(), total()]) != Treatment("w", pipeline=[add()])
    assert Treatment("s", steps={"add": add(delta=3)}) != Treatment("s", pipeline=[add(delta=3)])


# -- RunInfo ------------------------------------------------------------------------------
def test_run_info_hashes_by_its_run_id():
    result = _run(hypotheses=())  # a NaN in the summary would be unequal to its own copy
    (info,) = list_runs("data", "equality")
    again = pickle.loads(pickle.dumps(info))
    assert again == info and hash(again) == hash(info) == hash(result.run_id)
    assert info in {again}
