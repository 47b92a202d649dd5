"""A data directory starting with ``~`` is in the home directory, never a directory named
``~`` in the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import StoreError
from crystallize.store import load_result, open_store
from crystallize.store.opening import open_existing_store


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home directory of its own, and a working directory apart from it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # what Windows' expanduser reads
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def test_artifact_plugin_expands_the_home_directory(home):
    assert ArtifactPlugin(root_dir="~/data").root_dir == str(home / "data")
    assert ArtifactPlugin(root_dir="~").root_dir == str(home)
    assert ArtifactPlugin(root_dir=Path("~/data")).root_dir == home / "data"
    assert ArtifactPlugin(root_dir="a/~b").root_dir == "a/~b"  # only a leading ~
    assert ArtifactPlugin(root_dir="~/data").root_path == home / "data"


def test_a_tilde_naming_no_home_directory_is_refused(home):
    with pytest.raises(ValueError, match="names no home directory"):
        ArtifactPlugin(root_dir="~no_such_user_zq9/data")
    with pytest.raises(StoreError, match="names no home directory"):
        open_store("~no_such_user_zq9/data")
    assert not Path("~no_such_user_zq9").exists()


def test_the_store_functions_expand_the_home_directory(home):
    from crystallize.store.opening import data_directory

    assert data_directory("~/d") == home / "d" and data_directory("d") == Path("d")
    with open_store("~/d"):
        pass
    assert (home / "d" / "crystallize.db").is_file() and not Path("~").exists()
    with open_existing_store(Path("~/d")) as store:
        assert store.list_runs() == []


@data_source
def one(ctx):
    return 1


@pipeline_step()
def score(data, ctx):
    return data, {"m": 1}


def test_a_run_with_a_tilde_root_dir_is_stored_in_the_home_directory(home):
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([score()]), replicates=1, name="tilde",
        plugins=[ArtifactPlugin(root_dir="~/crys_data")],
    )
    result = experiment.run()
    assert not Path("~").exists()
    assert load_result(result.run_id, home / "crys_data").metrics.baseline.metrics == {"m": [1]}
