"""``sys.exit()`` in a custom verifier or ranker is that treatment's ``error`` /
``ranking_error`` entry, as any other exception there (and as in a step): the run is not
ended by it. Ctrl+C (``KeyboardInterrupt``) still propagates."""

from __future__ import annotations

import sys

import pytest

from crystallize import (
    Experiment,
    Hypothesis,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.stats import welch_t_test


@data_source
def numbers(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def total(data, ctx, *, delta=0.0):
    return data, {"total": sum(data) + delta + ctx["replicate"]}


@verifier
def exits(baseline, treatment):
    sys.exit(3)


@verifier
def interrupted(baseline, treatment):
    raise KeyboardInterrupt


def _ranker_exits(result):
    sys.exit("no ranking today")


def _experiment(hypothesis):
    return Experiment(
        datasource=numbers(), pipeline=Pipeline([total()]), replicates=3, hypotheses=[hypothesis],
        treatments=[treatment("t", {"delta": 1.0}), treatment("u", {"delta": 2.0})], name="exits",
    )


def test_a_verifier_calling_sys_exit_is_an_error_entry():
    result = _experiment(Hypothesis(verifier=exits(), metrics="total", name="h")).run()
    verdict = result.get_hypothesis("h")
    assert verdict.results == {"t": {"error": "SystemExit: 3"}, "u": {"error": "SystemExit: 3"}}
    assert verdict.best is None and verdict.ranking == ["t", "u"]


def test_a_ranker_calling_sys_exit_is_a_ranking_error_entry():
    hyp = Hypothesis(verifier=welch_t_test(), metrics="total", name="h", ranker=_ranker_exits)
    verdict = _experiment(hyp).run().get_hypothesis("h")
    assert verdict.scores == {}
    assert verdict.results["t"]["ranking_error"] == "SystemExit: no ranking today"
    assert "p_value" in verdict.results["t"]


def test_ctrl_c_in_a_verifier_still_stops_the_run():
    with pytest.raises(KeyboardInterrupt) as raised:
        _experiment(Hypothesis(verifier=interrupted(), metrics="total", name="h")).run()
    assert raised.value.result is not None  # as documented for a Ctrl+C while verifying
