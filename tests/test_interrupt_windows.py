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


def test_ctrl_c_during_the_final_write_is_stored_cancelled_and_keeps_the_result(monkeypatch):
    from crystallize.store.sqlite import SQLiteRunStore

    experiment = Experiment(datasource=one(), pipeline=Pipeline([keep()]), replicates=3,
                            plugins=[SeedPlugin(seed=1)], name="windows")
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt) as raised:
        patched.setattr(SQLiteRunStore, "append_records", _interrupt)
        experiment.run()
    (run,) = list_runs("data", "windows")
    assert run.status == "cancelled"
    # What was computed is not lost: the interrupt carries the run's Result.
    assert raised.value.result.metrics.baseline.metrics["v"] == [1, 1, 1]
    assert "resume" in "".join(raised.value.__notes__)
    assert experiment.run(strategy="resume").metrics.baseline.metrics["v"] == [1, 1, 1]


def test_ctrl_c_while_hypotheses_are_verified_is_stored_cancelled_not_completed(monkeypatch):
    from crystallize import Hypothesis
    from crystallize.stats import welch_t_test

    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), replicates=3, plugins=[SeedPlugin(seed=1)],
        treatments=[], hypotheses=[Hypothesis(welch_t_test(), "v", name="h")], name="windows",
    )
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt) as raised:
        patched.setattr(crystallize.engine, "verify_hypotheses", _interrupt)
        experiment.run()
    (run,) = list_runs("data", "windows")
    assert run.status == "cancelled" and run.n_records == 3
    assert raised.value.result.metrics.baseline.metrics["v"] == [1, 1, 1]
    assert "hypotheses were being verified" in "".join(raised.value.__notes__)
    resumed = experiment.run(strategy="resume")
    assert resumed.info.get("computed") == 0 and [h.name for h in resumed.metrics.hypotheses] == ["h"]


def test_ctrl_c_after_the_last_replicate_keeps_the_result(monkeypatch):
    from crystallize.session import RunSession

    experiment = Experiment(datasource=one(), pipeline=Pipeline([keep()]), replicates=2,
                            plugins=[SeedPlugin(seed=1)], name="windows")
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt) as raised:
        patched.setattr(RunSession, "check_code", _interrupt)
        experiment.run()
    assert list_runs("data", "windows")[0].status == "cancelled"
    assert raised.value.result.metrics.baseline.metrics["v"] == [1, 1]
