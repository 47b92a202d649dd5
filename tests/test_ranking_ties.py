"""Ties in the default ranking: adjusted p, then raw p, then the larger effect, then
listing order.

At large samples p-values underflow to 0, so every treatment ties on both p-values; the
report then named the first listed treatment best, whatever its effect.
"""

from __future__ import annotations

import numpy as np

from crystallize.hypothesis import Hypothesis
from crystallize.stats import mann_whitney


def test_treatments_whose_p_values_underflow_are_ranked_by_their_effect():
    rng = np.random.default_rng(0)
    n = 20_000
    baseline = {"error": list(rng.normal(1.0, 1, n))}
    treatments = {  # listed weaker first, as in the audit's run
        "sample_50": {"error": list(rng.normal(0.5, 1, n))},
        "sample_200": {"error": list(rng.normal(0.0, 1, n))},
    }
    hyp = Hypothesis(verifier=mann_whitney(alternative="less", n_resamples=50), metrics="error",
                     correction="holm")

    verdict = hyp.verify(baseline, treatments)

    assert [verdict.results[t]["p_value"] for t in treatments] == [0.0, 0.0]  # the tie
    effects = {t: verdict.results[t]["effect_size"] for t in treatments}
    assert abs(effects["sample_200"]) > abs(effects["sample_50"])
    assert verdict.ranking == ["sample_200", "sample_50"]
    assert verdict.best == "sample_200"


class _PerTreatment:
    """A verifier giving each treatment (recognised by its first value) its own output."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __call__(self, baseline, treatment):
        return self.outputs[treatment["m"][0]]


def _rank(outputs: dict[str, dict]) -> list[str]:
    treatments = {name: {"m": [name]} for name in outputs}
    by_value = _PerTreatment(outputs)
    return Hypothesis(verifier=by_value, metrics="m").verify({"m": ["base"]}, treatments).ranking


def test_raw_p_still_comes_before_the_effect():
    ranking = _rank({
        "big_effect": {"p_value": 0.02, "effect_size": 3.0},
        "small_p": {"p_value": 0.01, "effect_size": 0.1},
    })
    assert ranking == ["small_p", "big_effect"]


def test_a_negative_effect_counts_by_its_size():
    ranking = _rank({
        "up": {"p_value": 0.0, "effect_size": 0.3},
        "down": {"p_value": 0.0, "effect_size": -0.4},
    })
    assert ranking == ["down", "up"]


def test_odds_ratios_count_by_their_distance_from_one():
    ranking = _rank({
        "triple": {"p_value": 0.0, "effect_size": 3.0, "effect_size_name": "odds_ratio"},
        "fifth": {"p_value": 0.0, "effect_size": 0.2, "effect_size_name": "odds_ratio"},
        "never": {"p_value": 0.0, "effect_size": 0.0, "effect_size_name": "odds_ratio"},
    })
    assert ranking == ["never", "fifth", "triple"]


def test_with_several_metrics_the_largest_effect_counts():
    ranking = _rank({
        "both_medium": {"a": {"p_value": 0.0, "effect_size": 0.5}, "b": {"p_value": 0.0, "effect_size": 0.5}},
        "one_big": {"a": {"p_value": 0.0, "effect_size": 0.1}, "b": {"p_value": 0.0, "effect_size": 0.9}},
    })
    assert ranking[0] == "one_big"


def test_no_effect_or_equal_effects_keep_the_listing_order():
    assert _rank({"first": {"p_value": 0.0}, "second": {"p_value": 0.0}}) == ["first", "second"]
    assert _rank({
        "first": {"p_value": 0.0, "effect_size": float("nan")},
        "second": {"p_value": 0.0, "effect_size": 0.0},
        "third": {"p_value": 0.0, "effect_size": 0.0},
    }) == ["first", "second", "third"]
    assert _rank({"first": {"p_value": 0.0, "effect_size": 0.5},
                  "second": {"p_value": 0.0, "effect_size": -0.5}}) == ["first", "second"]
