"""discover(): every experiments/**/config.yaml, with failures kept apart."""

from __future__ import annotations

import os
import subprocess
import sys

from crystallize.config import ConfigValidationError, ExperimentGraph, ModuleImportError, discover
from crystallize.config.discovery import experiments_dir, find_configs

PRODUCER = """
name: producer
datasource: numbers
steps: [save]
outputs: {out: {}}
"""

SAVE_STEPS = """
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def save(data, out: Artifact):
    out.write(str(sum(data)))
    return data, {"total": sum(data)}
"""

READ_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def read(data):
    return data, {"value": float(data)}
"""


def test_one_broken_folder_does_not_hide_the_others(make_folder, tmp_path):
    make_folder("alpha")
    make_folder("group/beta", "name: beta\ndatasource: constant\nsteps: [total]\n")
    make_folder("broken", "datasource: numbers\nsteps: [totl]\n")
    make_folder("crashing", steps="raise RuntimeError('boom at import')\n")

    found = discover(tmp_path)

    assert found.root == (tmp_path / "experiments").resolve()
    assert sorted(found.experiments) == ["alpha", "beta"]
    assert not found.ok
    broken = tmp_path / "experiments" / "broken" / "config.yaml"
    crashing = tmp_path / "experiments" / "crashing" / "config.yaml"
    assert set(found.errors) == {broken, crashing}
    failure = found.errors[broken]
    assert isinstance(failure.exception, ConfigValidationError)
    assert "did you mean 'total'?" in failure.message
    assert "Traceback" in found.errors[crashing].traceback
    assert "RuntimeError: boom at import" in found.errors[crashing].traceback
    assert found.experiments["alpha"].run(replicates=2).metrics.baseline.metrics["total"]


def test_root_may_be_the_experiments_directory_itself(make_folder, experiments_root):
    make_folder("alpha")
    assert experiments_dir(experiments_root) == experiments_root
    assert list(discover(experiments_root).experiments) == ["alpha"]


def test_an_empty_project(tmp_path):
    found = discover(tmp_path)
    assert found.ok and not found.experiments and not found.graphs


def test_graphs_are_found_and_share_experiments(make_folder, tmp_path):
    make_folder("producer", PRODUCER, steps=SAVE_STEPS)
    make_folder("consumer", "name: consumer\ndatasource: {x: producer#out}\nsteps: [read]\n", datasources=None, steps=READ_STEPS)
    make_folder("standalone")

    found = discover(tmp_path)

    assert found.ok, found.errors
    assert set(found.experiments) == {"producer", "consumer", "standalone"}
    assert list(found.graphs) == ["consumer"]
    graph = found.graphs["consumer"]
    assert isinstance(graph, ExperimentGraph)
    assert graph.order == ["producer", "consumer"]
    assert graph["producer"] is found.experiments["producer"]
    results = graph.run()
    assert results["consumer"].metrics.baseline.metrics["value"] == results["producer"].metrics.baseline.metrics["total"]


def test_duplicate_names_are_errors(make_folder, tmp_path):
    make_folder("one", "name: same\ndatasource: constant\nsteps: [total]\n")
    make_folder("two", "name: same\ndatasource: constant\nsteps: [total]\n")
    found = discover(tmp_path)
    assert list(found.experiments) == ["same"]
    (path,) = found.errors
    assert path.parent.name == "two"
    assert "the experiment name 'same' is already used by" in found.errors[path].message


def test_hidden_and_cache_directories_are_skipped(make_folder, experiments_root):
    make_folder("alpha")
    make_folder(".hidden")
    make_folder("__pycache__")
    assert [p.parent.name for p in find_configs(experiments_root)] == ["alpha"]


EXITING_STEPS = """
import argparse

ARGS = argparse.ArgumentParser().parse_args()
"""


def test_a_folder_whose_module_exits_does_not_hide_the_others(make_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["crystallize", "list"])
    make_folder("alpha")
    make_folder("exiting", steps=EXITING_STEPS)
    make_folder("omega")

    found = discover(tmp_path)

    assert sorted(found.experiments) == ["alpha", "omega"]
    exiting = tmp_path / "experiments" / "exiting" / "config.yaml"
    assert set(found.errors) == {exiting}
    failure = found.errors[exiting]
    assert isinstance(failure.exception, ModuleImportError)
    assert "steps.py, line 4: the module exited with status 2 while being imported" in failure.message
    assert "SystemExit: 2" in failure.traceback


def test_the_command_line_survives_a_module_that_exits(make_folder, tmp_path):
    make_folder("alpha")
    make_folder("exiting", steps=EXITING_STEPS)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}

    def crystallize(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "crystallize.cli", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    listing = crystallize("list", "--errors")
    assert listing.returncode == 0, listing.stderr
    assert "alpha" in listing.stdout
    assert "the module exited with status 2 while being imported" in listing.stdout + listing.stderr

    run = crystallize("run", "alpha")
    assert run.returncode == 0, run.stderr

    broken = crystallize("run", "exiting")
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "experiment 'exiting' could not be loaded" in output
    assert "exiting/steps.py, line 4: the module exited with status 2 while being imported" in output
    assert "Traceback" not in output


THREADED = """
replicates: 2
datasource: {source: numbers}
steps: [add_delta, total]
plugins:
  execution: {strategy: thread, workers: 2}
"""


def test_discovery_does_not_warn_about_experiments_nobody_runs(make_folder, tmp_path, recwarn):
    make_folder("plain")
    make_folder("threaded", config=THREADED)
    found = discover(tmp_path)
    assert set(found.experiments) == {"plain", "threaded"}
    assert [str(w.message) for w in recwarn] == []


def test_the_thread_warning_names_the_experiment_when_it_runs(make_folder, tmp_path):
    import pytest

    make_folder("threaded", config=THREADED)
    experiment = discover(tmp_path).experiments["threaded"]
    with pytest.warns(RuntimeWarning, match=r"executor_type='thread' \(experiment 'threaded'\).*strategy: process"):
        experiment.run()
