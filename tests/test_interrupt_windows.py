"""Ctrl+C at any moment of a run leaves its stored status final, never ``running``."""

from __future__ import annotations

import pytest

import crystallize.engine
import crystallize.store
from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.store import list_runs


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"v": data}


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("module", "name"),
    [(crystallize.store, "reset_version_dir"), (crystallize.engine, "Result")],
    ids=["while the run starts", "after the last replicate"],
)
def test_an_interrupted_start_is_stored_cancelled(monkeypatch, module, name):
    experiment = Experiment(datasource=one(), pipeline=Pipeline([keep()]), replicates=2,
                            plugins=[SeedPlugin(seed=1)], name="windows")
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(module, name, _interrupt)
        experiment.run()
    (run,) = list_runs("data", "windows")
    assert run.status == "cancelled"
    assert experiment.run(strategy="resume").metrics.baseline.metrics["v"] == [1, 1]
