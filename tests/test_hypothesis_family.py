"""The correction family and the default ranking of multi-treatment, multi-metric hypotheses."""

from __future__ import annotations

import pytest
from statsmodels.stats.multitest import multipletests

from crystallize import Hypothesis, verifier


@verifier
def fixed_p(baseline, treatment, *, p_values=None):
    """Per-metric p-values chosen by the treatment's first value (a stand-in for a test)."""
    key = treatment["m"][0]
    if key == "broken":
        raise ValueError("cannot test")
    return {metric: {"p_value": p_values[key][metric], "alpha": 0.05} for metric in ("m", "n")}


P = {"none": {"m": 1.0, "n": 1.0}, "huge": {"m": 1e-10, "n": 1.8e-5}, "a": {"m": 0.013, "n": 0.5}}


def _verify(treatments, correction="bonferroni"):
    hyp = Hypothesis(verifier=fixed_p(p_values=P), metrics=["m", "n"], name="h", correction=correction)
    return hyp.verify({"m": [0], "n": [0]}, {name: {"m": [key], "n": [0]} for name, key in treatments.items()})


def test_without_a_ranker_treatments_rank_by_their_smallest_adjusted_p():
    verdict = _verify({"no_effect": "none", "huge_effect": "huge"})
    assert verdict.ranking == ["huge_effect", "no_effect"] and verdict.best == "huge_effect"


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr_bh"])
def test_a_failed_treatment_still_counts_in_the_family(method):
    verdict = _verify({"a": "a", "b": "broken"}, correction=method)
    assert "error" in verdict.results["b"]
    # The family: a's two p-values plus two p-values of 1 standing in for b's.
    expected = multipletests([0.013, 0.5, 1.0, 1.0], method=method)[1][:2]
    got = [verdict.results["a"][m]["p_value_adjusted"] for m in ("m", "n")]
    assert got == pytest.approx(list(expected), abs=1e-15)
    assert verdict.results["a"]["m"]["significant"] == bool(expected[0] < 0.05)
