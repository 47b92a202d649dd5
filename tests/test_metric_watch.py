"""A hypothesis metric no replicate records is reported as soon as every condition has
finished a replicate, not only when the run ends."""

from __future__ import annotations

import logging

import pytest

from crystallize import Experiment, Hypothesis, Pipeline, data_source, pipeline_step, treatment
from crystallize.exceptions import MissingMetricError
from crystallize.metric_watch import HypothesisMetricWatch
from crystallize.record import ReplicateError, ReplicateRecord
from crystallize.stats import welch_t_test

#: What the "so far" warnings said when each replicate started (serial runs).
SEEN_AT_START: list[int] = []


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def score(data, ctx, delta=0):
    SEEN_AT_START.append(sum("so far" in m for m in _logged))
    return data, {"score": data + delta}


_logged: list[str] = []


class _Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _logged.append(record.getMessage())


@pytest.fixture
def logged():
    handler = _Keep()
    logger = logging.getLogger("crystallize")
    logger.addHandler(handler)
    _logged.clear()
    SEEN_AT_START.clear()
    yield _logged
    logger.removeHandler(handler)


def _experiment(metric: str, replicates: int = 4) -> Experiment:
    hyp = Hypothesis(verifier=welch_t_test(), metrics=metric, name="gain")
    return Experiment(
        datasource=index(), pipeline=Pipeline([score()]), replicates=replicates, hypotheses=[hyp],
        treatments=[treatment("plus", {"delta": 1})], name="watch",
    )


def test_a_misspelt_metric_is_reported_after_the_first_replicate(logged):
    with pytest.raises(MissingMetricError) as info:
        _experiment("scroe").run()
    warned = [m for m in logged if "so far" in m]
    assert len(warned) == 1  # once per run
    assert "'gain' reads 'scroe'" in warned[0] and "recorded metrics: score" in warned[0]
    # Replicate 0 of both conditions ran before it; every later step saw it already.
    assert SEEN_AT_START == [0, 0, 1, 1, 1, 1, 1, 1]
    assert warned[0] in info.value.result.warnings


def test_no_warning_when_the_metric_is_recorded(logged):
    result = _experiment("score").run()
    assert not [m for m in logged if "so far" in m]
    assert not [w for w in result.warnings if "so far" in w]


def _record(condition: str, metrics: dict, failed: bool = False) -> ReplicateRecord:
    error = ReplicateError(condition, 0, "score", "boom", "ValueError") if failed else None
    return ReplicateRecord(condition=condition, replicate=0, seed=None, metrics=metrics, steps=[], error=error)


def _never(message: str, why: str) -> None:
    raise AssertionError(f"withdrawn: {message} ({why})")


class _Hyp:
    def __init__(self, name: str, metrics: list[str]) -> None:
        self.name, self.metrics = name, metrics


def test_failed_records_and_unfinished_conditions_keep_it_waiting():
    said: list[str] = []
    watch = HypothesisMetricWatch([_Hyp("h", ["acc"])], ["baseline", "t"], said.append, _never)
    watch.see(_record("baseline", {"loss": [1]}))
    watch.see(_record("t", {}, failed=True))  # a failure says nothing about the metrics
    assert said == [] and not watch.done
    watch.see(_record("t", {"loss": [2]}))
    assert len(said) == 1 and not watch.done  # still watching: a later replicate may record it
    assert "'h' reads 'acc'" in said[0] and "recorded metrics: loss" in said[0]
    watch.see(_record("t", {"loss": [2]}))
    assert len(said) == 1


def test_a_metric_seen_in_any_condition_counts_and_several_are_named():
    said: list[str] = []
    watch = HypothesisMetricWatch(
        [_Hyp("h", ["acc", "f1"]), _Hyp("g", ["acc"])], ["baseline", "t"], said.append, _never
    )
    watch.see(_record("baseline", {"f1": [0.5]}))
    watch.see(_record("t", {}))
    assert len(said) == 1
    assert "'h', 'g' read 'acc'" in said[0] and "f1" not in said[0].split("(")[0]
    seen: list[str] = []
    watch = HypothesisMetricWatch([_Hyp("h", ["acc"])], ["baseline", "t"], seen.append, _never)
    watch.see(_record("t", {"acc": [1]}))
    assert watch.done
    watch.see(_record("baseline", {}))
    assert seen == []


def test_nothing_to_watch_without_hypotheses():
    watch = HypothesisMetricWatch([], ["baseline"], lambda message: None, _never)
    assert watch.done


@pipeline_step()
def late(data, ctx, delta=0):
    return data, ({"score": data + delta} if ctx["replicate"] >= 1 else {})


def test_a_metric_recorded_by_later_replicates_withdraws_the_warning(logged):
    hyp = Hypothesis(verifier=welch_t_test(), metrics="score", name="gain")
    result = Experiment(
        datasource=index(), pipeline=Pipeline([late()]), replicates=4, hypotheses=[hyp],
        treatments=[treatment("plus", {"delta": 1})], name="late",
    ).run()
    assert len([m for m in logged if "so far" in m]) == 1  # said live, once
    assert any("warning that no replicate had recorded it is withdrawn" in m for m in logged)
    assert not [w for w in result.warnings if "so far" in w]
    assert "so far" not in result.report()
    assert result.get_hypothesis("gain").results["plus"]["p_value"] >= 0
