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


# -- the store fails while the run is going or finishing (disk full, run deleted) ----------

DISK_FULL = "database or disk is full"


@pytest.fixture
def disk_fills_up(monkeypatch):
    """Every write fails from the first record on, including the run's final status.

    Returns an Event set once the first record write failed (so a step can wait for it).
    """
    import threading

    first_failure = threading.Event()

    def refuse(self, run_id, records):
        first_failure.set()
        raise StoreError(f"Run store 'x': could not write: {DISK_FULL}.")

    real_finish = SQLiteRunStore.finish_run

    def refuse_to_finish(self, run_id, status, **kwargs):
        if status == "running":
            return real_finish(self, run_id, status, **kwargs)
        raise StoreError(f"Run store 'x': could not write: {DISK_FULL}.")

    monkeypatch.setattr(SQLiteRunStore, "append_records", refuse)
    monkeypatch.setattr(SQLiteRunStore, "finish_run", refuse_to_finish)
    return first_failure


def _slow_after_first(first_failure):
    @pipeline_step()
    def wait_for_failure(data, ctx):
        if ctx["replicate"] == 1:  # the first record's write has failed before we go on
            first_failure.wait(10)
        return data, {"score": data}

    return wait_for_failure()


def test_a_store_that_fills_up_while_finishing_still_returns_the_result(tmp_path, disk_fills_up):
    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([_slow_after_first(disk_fills_up)]),
        replicates=10, name="full", plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    result = experiment.run()  # no StoreError: nothing computed is lost
    assert result.metrics.baseline.metrics["score"] == list(range(10))
    assert DISK_FULL in result.info["store_error"]
    assert any("final status" in w and DISK_FULL in w for w in result.warnings)


def test_store_error_counts_every_record_that_was_not_stored(tmp_path, disk_fills_up):
    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([_slow_after_first(disk_fills_up)]),
        replicates=10, name="full", plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert "10 record(s) were not stored" in result.info["store_error"]


def test_deleting_a_run_while_it_is_going_keeps_its_result(tmp_path):
    from crystallize.store import open_store

    root = tmp_path / "data"

    @pipeline_step()
    def delete_own_run(data, ctx):
        if ctx["replicate"] == 2:
            with open_store(root) as store:
                store.delete_run(store.list_runs("doomed")[0].run_id)
        return data, {"score": data}

    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([delete_own_run()]), replicates=5,
        name="doomed", plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert result.metrics.baseline.metrics["score"] == [0, 1, 2, 3, 4]
    assert f"No run with id '{result.run_id}'" in result.info["store_error"]


# -- the store refuses writes for a while, then takes them again -----------------------------


def test_records_are_stored_during_the_run_again_once_the_store_takes_them(tmp_path, monkeypatch):
    """A disk that was full (or a lock held) for a moment must not leave the rest of the
    run in memory only, where a kill -9 would lose it."""
    import threading
    import time

    from crystallize import session

    monkeypatch.setattr(session, "WRITE_RETRY_INTERVAL", 0.05)
    real = SQLiteRunStore.append_records
    full = threading.Event()
    refused = []

    def while_full(self, run_id, records):
        if full.is_set():
            refused.append(len(records))
            raise StoreError(f"Run store 'x': could not write: {DISK_FULL}.")
        return real(self, run_id, records)

    monkeypatch.setattr(SQLiteRunStore, "append_records", while_full)
    root = tmp_path / "data"
    stored_when_asked = {}

    @pipeline_step()
    def paced(data, ctx):
        replicate = ctx["replicate"]
        if replicate == 5:
            full.set()
        elif replicate == 15:
            full.clear()
        elif replicate == 35:  # what a kill -9 now would leave in the store
            time.sleep(0.3)  # > the retry interval and the writer's 100 ms
            stored_when_asked["n"] = list_runs(root, "refilled")[0].n_records
        time.sleep(0.02)
        return data, {"score": data}

    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([paced()]), replicates=40, name="refilled",
        plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert refused, "the store never refused a write: the test did not exercise the failure"
    assert stored_when_asked["n"] >= 34  # not just the 5 or so written before the failure
    assert "store_error" not in result.info
    [run] = list_runs(root, "refilled")
    assert run.status == "completed" and run.n_records == 40
    [note] = [w for w in result.warnings if DISK_FULL in w]
    assert "written once the store took them again" in note


def test_a_store_refusing_every_retry_warns_once(tmp_path, monkeypatch, disk_fills_up):
    import time

    from crystallize import session

    monkeypatch.setattr(session, "WRITE_RETRY_INTERVAL", 0.01)

    @pipeline_step()
    def slow(data, ctx):
        time.sleep(0.02)
        return data, {"score": data}

    experiment = Experiment(
        datasource=replicate_number(), pipeline=Pipeline([slow()]), replicates=20, name="full",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data"), SeedPlugin(seed=1)],
    )
    result = experiment.run()
    assert result.metrics.baseline.metrics["score"] == list(range(20))
    assert len([w for w in result.warnings if "could not be written to the store" in w]) == 1
    assert "20 record(s) were not stored" in result.info["store_error"]
