"""The commands reading stored runs find a data directory starting with ``~`` where the
run stored it, in the home directory: a folder experiment's ``root_dir: ~/...`` and a
``--root '~/...'`` the shell left unexpanded (quoted, or ``--root=~/...``)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from crystallize.cli.app import build_app

CONFIG = """
name: t
replicates: 2
datasource: numbers
steps: [add_delta, total]
plugins:
  seed: {seed: 5}
  artifacts: {root_dir: ~/tdata}
"""


def invoke(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home directory of its own, apart from the working directory (``tmp_path``)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # what Windows' expanduser reads
    return home


@pytest.fixture
def stored_run(home, make_experiment, tmp_path) -> str:
    """Run ``t`` (``root_dir: ~/tdata``) once; return the run id."""
    make_experiment("t", config=CONFIG)
    result = invoke("run", "t", "--json")
    assert result.exit_code == 0, result.output
    assert (home / "tdata" / "crystallize.db").is_file()
    assert not (tmp_path / "~").exists()
    runs = json.loads(invoke("runs", "t", "--json", "--root", str(home / "tdata")).output)
    return runs[0]["run_id"]


def test_runs_and_show_find_a_folder_experiments_tilde_root_dir(stored_run):
    runs = invoke("runs", "t", "--json")
    assert runs.exit_code == 0, runs.output
    assert [run["run_id"] for run in json.loads(runs.output)] == [stored_run]
    show = invoke("show", "t")
    assert show.exit_code == 0, show.output
    assert "looked in" not in show.output and stored_run in show.output


@pytest.mark.parametrize("args", [("--root", "~/tdata"), ("--root=~/tdata",)])
def test_an_unexpanded_tilde_root_option_is_the_home_directory(stored_run, tmp_path, args):
    shutil.rmtree(tmp_path / "experiments")  # only --root says where the runs are
    result = invoke("runs", "t", "--json", *args)
    assert result.exit_code == 0, result.output
    assert [run["run_id"] for run in json.loads(result.output)] == [stored_run]
    show = invoke("show", "t", *args, "--run", stored_run)
    assert show.exit_code == 0, show.output
    assert stored_run in show.output


def test_a_tilde_root_option_naming_no_home_directory_is_refused(home):
    result = invoke("runs", "t", "--root", "~no_such_user_zq9/tdata")
    assert result.exit_code != 0
    assert "names no home directory" in result.output
