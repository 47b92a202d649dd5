"""MlflowPlugin logs a replicate that recorded an int too large for a float."""

from __future__ import annotations

import logging
import math

import pytest

pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore:The ..noload.. loader strategy:DeprecationWarning")

from mlflow import MlflowClient  # noqa: E402

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step  # noqa: E402
from crystallize.plugins.mlflow import MlflowPlugin  # noqa: E402


@data_source
def one(ctx):
    return 1


@pipeline_step()
def record_big(data, ctx):
    ctx.record("score", 0.5)
    ctx.record("huge", 10**400)
    ctx.record("tiny", -(10**400))
    ctx.record("pinf", math.inf)
    ctx.record("ninf", -math.inf)
    ctx.record("label", "x")
    return data


def test_an_int_too_large_for_a_float_is_logged_as_inf_with_every_other_metric(tmp_path, caplog):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([record_big()]), replicates=2, name="overflow",
        plugins=[MlflowPlugin(tracking_uri=uri), ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        experiment.run()
    assert "MlflowPlugin could not" not in caplog.text
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("overflow").experiment_id])
    children = [r for r in runs if "crystallize.condition" in r.data.tags]
    assert len(children) == 2
    for child in children:
        metrics = child.data.metrics
        assert child.info.status == "FINISHED"
        assert metrics["score"] == 0.5
        # Logged as ±inf, the way a float inf is (a SQL store keeps ±inf as ±max float).
        assert metrics["huge"] == metrics["pinf"] > 1e308
        assert metrics["tiny"] == metrics["ninf"] < -1e308
        assert "label" not in metrics
