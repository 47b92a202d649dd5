"""Reading past runs never creates a store, and says where it looked."""

from __future__ import annotations

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import StoreError
from crystallize.store import latest_result, list_runs, load_result
from crystallize.store.base import RunNotFoundError


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


@pytest.fixture
def stored(tmp_path):
    result = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="kept",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data")],
    ).run()
    return tmp_path / "data", result.run_id


@pytest.mark.parametrize("read", [list_runs, lambda root: load_result("abc", root), lambda root: latest_result("kept", root)])
def test_a_wrong_root_is_an_error_and_nothing_is_created(tmp_path, read):
    missing = tmp_path / "no_such_root"
    with pytest.raises(StoreError, match=r"No run store in '.*no_such_root' \(the directory does not exist\)"):
        read(missing)
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreError, match=r"holds no crystallize\.db.*ArtifactPlugin root_dir"):
        read(empty)
    assert list(empty.iterdir()) == []


def test_swapped_arguments_do_not_create_a_store(stored, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="No run store in 'kept'"):
        list_runs("kept", "data")  # (experiment, root) instead of (root, experiment)
    assert not (tmp_path / "kept").exists()


def test_an_unknown_run_id_names_the_store_it_looked_in(stored):
    root, run_id = stored
    with pytest.raises(RunNotFoundError, match=r"No run with id 'nope' in the store '.*crystallize\.db'"):
        load_result("nope", root)
    assert load_result(run_id, root).metrics.baseline.metrics["value"] == [1]
    assert [run.run_id for run in list_runs(root, "kept")] == [run_id]
    assert latest_result("other", root) is None
