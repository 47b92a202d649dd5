"""A run whose records cannot be written: results kept, failure visible, run not 'completed'."""

from __future__ import annotations

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.exceptions import RunFailedError, StoreError
from crystallize.store import list_runs
from crystallize.store.sqlite import SQLiteRunStore


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def score(data, ctx):
    if data == 2 and ctx.get("fail_third"):
        raise ValueError("third replicate fails")
    return data, {"score": data}


def _experiment(root, **ctx):
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline([score()]), replicates=3, name="fragile",
        plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)], initial_ctx=ctx,
    )


@pytest.fixture
def malformed(monkeypatch):
    def refuse(self, run_id, records):
        raise StoreError("database disk image is malformed")

    monkeypatch.setattr(SQLiteRunStore, "append_records", refuse)


def test_records_that_cannot_be_stored_fail_the_stored_run_but_not_the_result(tmp_path, malformed):
    result = _experiment(tmp_path / "data").run()
    assert result.metrics.baseline.metrics["score"] == [0, 1, 2]  # nothing computed is lost
    assert "database disk image is malformed" in result.info["store_error"]
    assert any("could not be written to the store" in w for w in result.warnings)
    [run] = list_runs(tmp_path / "data", "fragile")
    assert run.status == "failed"  # not 'completed' with no records
    assert any("could not be written" in w for w in run.warnings)


def test_fail_fast_result_carries_the_store_failure_too(tmp_path, malformed):
    with pytest.raises(RunFailedError) as raised:
        _experiment(tmp_path / "data", fail_third=True).run(fail_fast=True)
    assert "malformed" in raised.value.result.info["store_error"]


@pipeline_step()
def odd_metric(data, ctx):
    return data, {"score": complex(data, 1) if data == 1 else data}


def test_a_value_json_cannot_hold_is_stored_as_text_and_the_run_completes(tmp_path, caplog):
    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([odd_metric()]), replicates=4, name="odd",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert result.metrics.baseline.metrics["score"] == [0, complex(1, 1), 2, 3]  # kept exactly in memory
    assert "store_error" not in result.info
    [run] = list_runs(tmp_path / "data", "odd")
    assert run.status == "completed"
    from crystallize.store import load_result

    stored = load_result(run.run_id, tmp_path / "data")
    assert stored.metrics.baseline.metrics["score"] == [0, "(1+1j)", 2, 3]
    assert "replicate 1 holds values JSON cannot hold" in caplog.text and "complex (1+1j)" in caplog.text
