"""A built-in verifier's ``ci`` is a ``(low, high)`` tuple after the result is stored and loaded."""

from __future__ import annotations

import json

from crystallize.hypothesis import HypothesisResult, hypothesis
from crystallize.stats import welch_t_test

BASELINE = {"mse": [1.0, 1.2, 0.9, 1.1], "r2": [0.5, 0.6, 0.55, 0.52]}
TREATED = {"t": {"mse": [0.7, 0.8, 0.75, 0.72], "r2": [0.7, 0.72, 0.69, 0.71]}}


def _round_trip(result: HypothesisResult) -> HypothesisResult:
    return HypothesisResult.from_dict(json.loads(json.dumps(result.to_dict())))


def test_ci_is_a_tuple_again_for_one_and_for_several_metrics() -> None:
    for metrics in ("mse", ["mse", "r2"]):
        live = hypothesis(verifier=welch_t_test(), metrics=metrics, name="h")(lambda r: 0.0).verify(BASELINE, TREATED)
        loaded = _round_trip(live)
        assert loaded == live and loaded.results == live.results
        outputs = [loaded.results["t"]] if metrics == "mse" else list(loaded.results["t"].values())
        assert all(type(o["ci"]) is tuple and len(o["ci"]) == 2 for o in outputs)


def test_a_custom_verifiers_lists_stay_lists() -> None:
    data = {"name": "h", "results": {"t": {"ci": [1, 2], "p_value": 0.1}}, "ranking": ["t"]}
    assert HypothesisResult.from_dict(data).results["t"]["ci"] == [1, 2]  # no ci_of: not ours
