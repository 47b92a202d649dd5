"""A ranker written for several metrics, run on one: the warning says the output is flat."""

from __future__ import annotations

import logging

from crystallize import hypothesis
from crystallize.stats import welch_t_test

BASELINE = {"mse": [1.0, 1.2, 0.9, 1.1], "r2": [0.5, 0.6, 0.55, 0.52]}
TREATED = {"t": {"mse": [0.7, 0.8, 0.75, 0.72], "r2": [0.7, 0.72, 0.69, 0.71]}}


def _by_metric(metrics):
    @hypothesis(verifier=welch_t_test(), metrics=metrics, name="h")
    def per_metric_ranker(result):
        return result["mse"]["p_value"]

    return per_metric_ranker


def test_a_per_metric_ranker_on_a_one_metric_list_gets_a_hint(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        verdict = _by_metric(["mse"]).verify(BASELINE, TREATED)
    assert verdict.scores == {} and verdict.results["t"]["ranking_error"] == "KeyError: 'mse'"
    (message,) = [r.getMessage() for r in caplog.records if "ranker" in r.getMessage()]
    assert "With one metric the verifier's output is flat: read result['p_value']" in message
    assert "result['mse']['p_value']" in message


def test_the_same_ranker_works_with_two_metrics_and_other_failures_get_no_hint(caplog) -> None:
    assert _by_metric(["mse", "r2"]).verify(BASELINE, TREATED).scores["t"] < 0.05

    @hypothesis(verifier=welch_t_test(), metrics=["mse"], name="h2")
    def wrong_key(result):
        return result["pvalue"]

    with caplog.at_level(logging.WARNING, logger="crystallize"):
        wrong_key.verify(BASELINE, TREATED)
    (message,) = [r.getMessage() for r in caplog.records if "ranker" in r.getMessage()]
    assert "flat" not in message
