"""Blank arguments — most often a shell variable that is not set — and paths that name a
folder (or a module, for a folder) are refused with a clear error instead of quietly changing the run: an empty
``--set`` value, an empty ``-t``, ``-o dir/``. A run without a store says so."""

from __future__ import annotations

import json

import pytest
from cli_assertions import assert_one_line_user_error


@pytest.fixture
def study(cli):
    assert cli("new", "study", "--example").returncode == 0


@pytest.mark.parametrize("setting", ["plugins.artifacts.root_dir=", "seed= ", "lr=", "treatments.sample_200.n="])
def test_an_empty_set_value_is_refused(cli, study, tmp_path, setting):
    proc = cli("run", "study", "-n", "2", "--set", setting)
    key = setting.partition("=")[0]
    assert_one_line_user_error(proc, f"--set {key}= has an empty value", f"{key}=null")
    assert not (tmp_path / "data").exists()  # nothing ran


def test_null_must_be_written_out_and_a_run_without_store_says_so(cli, study, tmp_path):
    proc = cli("run", "study", "-n", "2", "--set", "plugins.artifacts.root_dir=null")
    assert proc.returncode == 0, proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("Run (not stored)") and "stored in" not in summary


@pytest.mark.parametrize("value", ["", ",", " "])
def test_an_empty_treatment_choice_is_refused(cli, study, tmp_path, value):
    proc = cli("run", "study", "-n", "2", "-t", value)
    assert_one_line_user_error(proc, f"-t {value!r} names no treatment", "leave -t out to run them all")
    assert not (tmp_path / "data").exists()


def test_a_report_path_ending_in_a_slash_is_refused(cli, study, tmp_path):
    assert cli("run", "study", "-n", "2", "--json").returncode == 0
    proc = cli("report", "study", "-o", "newdir/")
    assert_one_line_user_error(proc, "-o/--output 'newdir/' ends with '/', so it names a folder", "newdir/report.html")
    assert not (tmp_path / "newdir").exists()


def test_an_unknown_run_id_hint_names_the_experiment(cli, study):
    assert cli("run", "study", "-n", "2", "--json").returncode == 0
    proc = cli("show", "study", "--run", "zz")
    assert_one_line_user_error(proc, "no run with id 'zz'", "List the runs with: crystallize runs study")
    assert json.loads(cli("runs", "study", "--json").stdout)  # the stored run is untouched


@pytest.mark.parametrize("command", ["run", "runs", "show"])
def test_a_python_file_given_for_its_folder_says_to_give_the_folder(cli, study, command):
    proc = cli(command, "experiments/study/steps.py")
    assert_one_line_user_error(
        proc, "experiments/study/steps.py is Python code, not a config", "experiments/study) or its config.yaml"
    )
    assert "YAML" not in proc.stderr
