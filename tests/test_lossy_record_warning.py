"""Metric values JSON cannot hold are stored as text with one short warning per run
(and per set of metric names), not one multi-line warning per record."""

from __future__ import annotations

import logging

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.store import load_result


class Table:
    """A value JSON cannot hold whose repr spans many lines (like a DataFrame's)."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def __repr__(self) -> str:
        return "\n".join(f"row {i}   value {i * 0.5:.6f}" for i in range(self.rows))


@data_source
def number(ctx):
    return ctx["replicate"]


@pipeline_step()
def odd_metrics(data, ctx, *, extra=False):
    metrics = {"table": Table(40), "ok": data}
    if extra:
        metrics["other"] = 1j
    return data, metrics


def _run(**kwargs):
    experiment = Experiment(
        datasource=number(), pipeline=Pipeline([odd_metrics()]), replicates=6, name="lossy",
        plugins=[ArtifactPlugin(root_dir="data"), SeedPlugin(seed=1)], **kwargs,
    )
    return experiment.run()


def _store_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "crystallize.store" and r.levelno == logging.WARNING]


def test_one_short_warning_per_run(caplog):
    caplog.set_level(logging.WARNING, logger="crystallize.store")
    result = _run(treatments=[treatment("t", {"extra": False})])
    [message] = _store_warnings(caplog)
    assert "holds values JSON cannot hold" in message
    assert "'table'" in message
    assert "later records" in message
    assert "\n" not in message and len(message) < 600
    assert "Table row 0 value 0.000000" in message  # the repr, on one line and cut short
    stored = load_result(result.run_id, "data")
    assert stored.metrics.baseline.metrics["table"][0].startswith("row 0")  # still kept as text
    assert stored.metrics.baseline.metrics["ok"] == list(range(6))


def test_a_new_run_or_new_metric_names_warn_again(caplog):
    caplog.set_level(logging.WARNING, logger="crystallize.store")
    _run()
    _run(treatments=[treatment("more", {"extra": True})])
    messages = _store_warnings(caplog)
    assert len(messages) == 3  # run 1; run 2 baseline ('table'); run 2 'more' ('other', 'table')
    assert "'other'" in messages[2] and "'table'" in messages[2]


@pipeline_step()
def keyed(data, ctx):
    return data, {"by_id": {1: 10, "1": 3}, "fine": {1: 2, "b": 3}}


def test_a_dict_whose_keys_json_writes_alike_is_kept_whole_as_text(caplog):
    caplog.set_level(logging.WARNING, logger="crystallize.store")
    experiment = Experiment(
        datasource=number(), pipeline=Pipeline([keyed()]), replicates=2, name="keys",
        plugins=[ArtifactPlugin(root_dir="data")],
    )
    result = experiment.run()
    assert result.metrics.baseline.metrics["by_id"] == [{1: 10, "1": 3}] * 2  # in memory: as recorded
    [message] = _store_warnings(caplog)
    assert "(metric 'by_id')" in message and "keys 1 and '1' are one key in JSON" in message
    stored = load_result(result.run_id, "data").metrics.baseline.metrics
    assert stored["by_id"] == ["{1: 10, '1': 3}"] * 2  # both values, as text: none dropped
    assert stored["fine"] == [{"1": 2, "b": 3}] * 2
    exported = result.to_dict()["metrics"]["baseline"]
    assert exported["by_id"] == ["{1: 10, '1': 3}"] * 2 and exported["fine"] == [{"1": 2, "b": 3}] * 2
    assert '"{1: 10, \'1\': 3}"' in result.to_json()


@pipeline_step()
def emits_then_fails(data, ctx):
    ctx.emit("point", value=Table(2))  # in every record's events, metric or not
    if ctx["replicate"] == 1:
        raise ValueError("no metrics for this one")
    return data, {"table": Table(3)}


def test_a_record_unstorable_only_outside_its_metrics_says_where(caplog):
    caplog.set_level(logging.WARNING, logger="crystallize.store")
    Experiment(
        datasource=number(), pipeline=Pipeline([emits_then_fails()]), replicates=3, name="events",
        plugins=[ArtifactPlugin(root_dir="data")],
    ).run()
    first, second = _store_warnings(caplog)  # replicate 2 repeats replicate 0: no third
    assert "replicate 0" in first and "(metric 'table')" in first
    assert "of the same metrics" in first  # not a promise of silence about other values
    assert "replicate 1" in second and "outside its metrics (events, tags or step provenance)" in second
