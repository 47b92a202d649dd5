"""The reprs of a Result and its metrics stay short however big the run was."""

from crystallize.record import ReplicateRecord
from crystallize.result import ConditionMetrics, Result


def _records(conditions, replicates, metrics):
    return [
        ReplicateRecord(
            condition=name,
            replicate=r,
            seed=r,
            metrics={f"metric_{m}": [float(r + m)] for m in range(metrics)},
            steps=[],
        )
        for name in conditions
        for r in range(replicates)
    ]


def _wide_result(treatments=30, replicates=100, metrics=5):
    conditions = ["baseline", *(f"t{i}" for i in range(treatments))]
    return Result(_records(conditions, replicates, metrics), conditions)


def test_a_wide_run_has_short_reprs():
    result = _wide_result()
    assert len(repr(result.metrics)) < 3000  # was 91,741 characters
    assert len(repr(result)) < 300
    assert len(repr(result.metrics.baseline)) < 600


def test_condition_metrics_repr_names_metrics_counts_and_leading_values():
    text = repr(_wide_result(treatments=1, replicates=100, metrics=12).metrics.baseline)
    assert text.startswith("ConditionMetrics('baseline', replicates=100, metrics={")
    assert "'metric_0': [0.0, 1.0, 2.0, ... and 97 more]" in text
    assert "'metric_9'" in text and "'metric_10'" not in text
    assert text.endswith("... and 2 more metrics})")


def test_small_condition_metrics_repr_shows_everything():
    metrics = ConditionMetrics("t", _records(["t"], 2, 1))
    assert repr(metrics) == "ConditionMetrics('t', replicates=2, metrics={'metric_0': [0.0, 1.0]})"


def test_experiment_metrics_repr_lists_a_few_treatments():
    text = repr(_wide_result().metrics)
    assert text.startswith("ExperimentMetrics(baseline=ConditionMetrics('baseline', replicates=100")
    assert "'t0': ConditionMetrics('t0'" in text and "'t2': ConditionMetrics('t2'" in text
    assert "'t3'" not in text
    assert text.endswith("... and 27 more})")


def test_result_repr_shortens_the_condition_list():
    text = repr(_wide_result())
    assert text == (
        "Result(experiment='experiment', conditions=['baseline', 't0', 't1', 't2', 't3', "
        "... and 26 more], records=3100, errors=0)"
    )
    small = _wide_result(treatments=1, replicates=1, metrics=1)
    assert repr(small) == "Result(experiment='experiment', conditions=['baseline', 't0'], records=2, errors=0)"


def test_huge_metric_values_are_cut():
    record = ReplicateRecord(condition="baseline", replicate=0, seed=0, metrics={"m": ["x" * 10**5]}, steps=[])
    assert len(repr(ConditionMetrics("baseline", [record]))) < 300
