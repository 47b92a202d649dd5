"""The process-wide stores the engine keeps open between runs."""

from __future__ import annotations

import shutil

import pytest

from crystallize import Experiment, Pipeline, data_source, engine, pipeline_step
from crystallize.store import release_shared_store, shared_store
from crystallize.store import shared as shared_module


@data_source
def number(ctx):
    """The replicate index."""
    return ctx["replicate"]


@pipeline_step()
def record(data, ctx):
    """Record the data as metric ``x``."""
    return data, {"x": data}


def small_experiment(name: str, replicates: int) -> Experiment:
    """A one-step experiment storing one metric per replicate."""
    return Experiment(datasource=number(), pipeline=Pipeline([record()]), replicates=replicates, name=name)


@pytest.fixture(autouse=True)
def _fresh_registry():
    shared_module.close_shared_stores()
    yield
    shared_module.close_shared_stores()


def test_same_directory_gives_the_same_open_store(tmp_path):
    first = shared_store(tmp_path / "data")
    release_shared_store(first)
    second = shared_store(tmp_path / "data")
    release_shared_store(second)
    assert second is first
    assert not first.closed


def test_a_deleted_directory_gets_a_fresh_store(tmp_path):
    first = shared_store(tmp_path / "data")
    run = first.create_run(
        experiment="e", fingerprint="f", spec={}, replicates=1, conditions=["baseline"], base_seed=None
    )
    release_shared_store(first)
    shutil.rmtree(tmp_path / "data")
    second = shared_store(tmp_path / "data")
    try:
        assert second is not first
        assert first.closed
        assert second.list_runs() == []  # not the deleted file's runs
        assert (tmp_path / "data" / "crystallize.db").exists()
    finally:
        release_shared_store(second)
    assert run.run_id


def test_only_idle_stores_are_closed_beyond_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(shared_module, "MAX_SHARED", 1)
    held = shared_store(tmp_path / "a")
    idle = shared_store(tmp_path / "b")
    release_shared_store(idle)
    newest = shared_store(tmp_path / "c")  # over the limit: only the idle one may go
    assert idle.closed
    assert not held.closed and not newest.closed
    release_shared_store(held)
    release_shared_store(newest)
    assert held.closed  # idle now, and the least recently used over the limit
    assert not newest.closed


def test_runs_reuse_the_store_and_leave_it_usable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment = small_experiment("reuse", replicates=3)
    experiment.run()
    store = shared_store("data")
    release_shared_store(store)
    experiment.run()
    again = shared_store("data")
    try:
        assert again is store
        runs = again.list_runs(experiment="reuse")
        assert [run.n_records for run in runs] == [3, 3]
        assert {run.status for run in runs} == {"completed"}
    finally:
        release_shared_store(again)


def test_a_run_that_fails_to_start_ends_failed_and_gives_its_store_back(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("runner could not be built")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "ReplicateRunner", broken)
    experiment = small_experiment("broken", replicates=2)
    with pytest.raises(RuntimeError, match="could not be built"):
        experiment.run()
    entry = next(iter(shared_module._stores.values()))
    assert entry.holders == 0
    assert [run.status for run in entry.store.list_runs(experiment="broken")] == ["failed"]


def test_a_store_dropped_while_held_stays_open_until_its_last_holder_is_done(tmp_path, monkeypatch):
    """Its file replaced meanwhile, the registry drops the store; a holder still using it
    (a run in another thread, the idle checkpoint) must not find it closed."""
    first = shared_store(tmp_path)
    also = shared_store(tmp_path)
    assert also is first
    monkeypatch.setattr(shared_module, "file_identity", lambda path: (-1, -1))  # "replaced"
    fresh = shared_store(tmp_path)
    assert fresh is not first and not first.closed
    release_shared_store(first)
    assert not first.closed  # one holder left
    release_shared_store(also)
    assert first.closed
    release_shared_store(fresh)


def test_ctrl_c_while_stores_close_at_exit_prints_no_traceback(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        from crystallize.store import shared_store
        from crystallize.store.sqlite import SQLiteRunStore

        shared_store("data")

        def interrupted_close(self):
            raise KeyboardInterrupt  # as a second Ctrl+C arriving while the store closes

        SQLiteRunStore.close = interrupted_close
        print("exiting")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "exiting"
    assert "Exception ignored" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr
