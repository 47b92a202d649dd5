"""Experiments in a graph that share a ``root_dir`` starting with ``~`` (the home
directory) are accepted: the roots are compared with ``~`` expanded on both sides."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crystallize import ArtifactPlugin, Experiment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import ExperimentGraph, UpstreamOutput
from crystallize.config.upstream import expanded_root
from crystallize.exceptions import ConfigError

PRODUCER = """
name: producer
replicates: 3
datasource: {src: numbers}
steps: [save]
outputs:
  result: {file_name: result.json, loader: load_json, writer: dump_json}
plugins: {seed: {seed: 1}}
"""

PRODUCER_STEPS = """
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def save(data, ctx, result: Artifact):
    result.write({"replicate": ctx["replicate"]})
    return data
"""

OUTPUTS = """
import json


def dump_json(value):
    return json.dumps(value).encode("utf-8")


def load_json(data):
    return json.loads(data.decode("utf-8"))
"""

CONSUMER_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def check(data):
    return data, {"upstream_replicate": data["replicate"]}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home directory of its own; the working directory is tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.chdir(tmp_path)
    return home


ROOT = "plugins: {{artifacts: {{root_dir: '{root}'}}, seed: {{seed: 1}}}}\n"


def _graph_folders(make_folder, producer_root: str, consumer_root: str) -> Path:
    producer = PRODUCER.replace("plugins: {seed: {seed: 1}}\n", ROOT.format(root=producer_root))
    make_folder("producer", producer, steps=PRODUCER_STEPS, outputs=OUTPUTS)
    consumer = "name: consumer\nreplicates: 3\ndatasource: {u: producer#result}\nsteps: [check]\n"
    return make_folder("consumer", consumer + ROOT.format(root=consumer_root), datasources=None, steps=CONSUMER_STEPS)


def test_folder_experiments_sharing_a_home_root_form_a_graph(home, make_folder):
    folder = _graph_folders(make_folder, "~/crys_data", "~/crys_data")

    results = ExperimentGraph.from_yaml(folder).run()

    assert not results["consumer"].errors
    assert results["consumer"].metrics.baseline.metrics["upstream_replicate"] == [0, 1, 2]
    assert (home / "crys_data" / "crystallize.db").is_file()
    assert not Path("~").exists()


def test_a_home_root_and_the_same_directory_written_in_full_match(home, make_folder):
    folder = _graph_folders(make_folder, str(home / "crys_data"), "~/crys_data")
    assert not ExperimentGraph.from_yaml(folder).run()["consumer"].errors


def test_different_home_roots_are_still_refused(home, make_folder):
    folder = _graph_folders(make_folder, "~/one", "~/two")
    with pytest.raises(ConfigError, match=r"under root_dir '.*one', but this experiment reads from '~/two'"):
        Experiment.from_yaml(folder)


def test_a_reading_root_naming_no_home_directory_is_reported(home, make_folder):
    folder = _graph_folders(make_folder, "data", "~no_such_user_zq9/d")
    with pytest.raises(ConfigError, match=r"root_dir: '~no_such_user_zq9/d': its leading '~' names no home directory"):
        Experiment.from_yaml(folder)
    assert not Path("~no_such_user_zq9").exists()


@data_source
def const(ctx, v: float = 0.0):
    return v


@pipeline_step()
def save(data, model: Artifact):
    model.write(json.dumps(data))
    return data, {"v": float(data)}


@pipeline_step()
def use(data):
    return data, {"v": float(data)}


def _pair(source: UpstreamOutput, root: str) -> list[Experiment]:
    producer = Experiment(
        datasource=const(v=4.0), pipeline=[save(model=Artifact("m.json"))], name="p", replicates=2,
        plugins=[ArtifactPlugin(root_dir=root)],
    )
    consumer = Experiment(datasource=source, pipeline=[use()], name="c", replicates=2, plugins=[ArtifactPlugin(root_dir=root)])
    return [producer, consumer]


def test_an_upstream_output_with_a_home_root_dir_reads_the_home_root(home):
    source = UpstreamOutput("p", "model", "m.json", loader=json.loads, root_dir="~/d")
    assert source.root_dir == "~/d"  # kept as given (it counts in the fingerprint)
    assert source.root_for(ArtifactPlugin(root_dir="~/d").root_dir) == str(home / "d")
    assert source.root_for(None) == str(home / "d")

    results = ExperimentGraph.from_experiments(_pair(source, "~/d")).run()

    assert not results["c"].errors
    assert results["c"].metrics.baseline.metrics["v"] == [4.0, 4.0]
    assert not Path("~").exists()


def test_an_upstream_output_with_another_home_root_is_refused(home):
    source = UpstreamOutput("p", "model", "m.json", root_dir="~/other")
    with pytest.raises(ConfigError, match="root_dir '~/other'"):
        source.root_for(str(home / "d"))


def test_an_upstream_output_root_naming_no_home_directory_is_refused(home):
    with pytest.raises(ValueError, match="names no home directory"):
        UpstreamOutput("p", "model", root_dir="~no_such_user_zq9/d")


def test_relative_roots_are_as_before(home):
    assert UpstreamOutput("p", "m", root_dir="./data/").root_for("data") == "./data/"
    assert UpstreamOutput("p", "m").root_for("store/") == "store/"
    assert UpstreamOutput("p", "m").root_for(None) == "data"
    assert UpstreamOutput("p", "m", root_dir=Path("a/~b")).root_for(None) == os.fspath(Path("a/~b"))
    assert expanded_root("a/~b") == "a/~b" and expanded_root("~") == str(home)
