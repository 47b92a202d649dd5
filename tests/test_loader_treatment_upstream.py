"""Loading folder experiments whose treatments read another experiment's output."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.config import ExperimentGraph, UpstreamOutput
from crystallize.config.discovery import discover
from crystallize.exceptions import ConfigError

PREP = """
name: prep
datasource: {raw: numbers}
steps: [save]
outputs:
  features: {file_name: features.json}
"""

PREP_DATASOURCES = """
from crystallize import data_source


@data_source
def numbers(ctx):
    return [1.0, 2.0, 3.0]
"""

PREP_STEPS = """
import json

from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def save(data, features: Artifact):
    features.write(json.dumps({"mean": sum(data) / len(data)}).encode())
    return data, {"mean": sum(data) / len(data)}
"""

ALT = """
name: alt
datasource: {local: local}
steps: [score]
treatments:
  from_prep:
    datasource: prep#features
"""

ALT_DATASOURCES = """
from crystallize import data_source


@data_source
def local(ctx):
    return b'{"mean": 0.0}'
"""

ALT_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def score(data):
    return data, {"size": float(len(data))}
"""

PLAIN_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def s(data):
    return data, {"m": 1.0}
"""


def write(root: Path, name: str, config: str, **modules: str) -> Path:
    """Write ``experiments/<name>/`` with ``config.yaml`` and the given modules."""
    folder = root / "experiments" / name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(textwrap.dedent(config).lstrip(), encoding="utf-8")
    for stem, text in modules.items():
        (folder / f"{stem}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def alt_folder(tmp_path: Path) -> Path:
    write(tmp_path, "prep", PREP, datasources=PREP_DATASOURCES, steps=PREP_STEPS)
    return write(tmp_path, "alt", ALT, datasources=ALT_DATASOURCES, steps=ALT_STEPS)


def test_treatment_datasource_loads_the_producer(alt_folder):
    experiment = Experiment.from_yaml(alt_folder)
    assert experiment.upstream == ("prep",)
    (treatment,) = experiment.declared_treatments
    assert isinstance(treatment.datasource, UpstreamOutput)
    assert (treatment.datasource.experiment, treatment.datasource.output) == ("prep", "features")


def test_graph_of_treatment_consumer_holds_the_producer_first(alt_folder):
    graph = ExperimentGraph.from_yaml(alt_folder)
    assert graph.order == ["prep", "alt"]


def test_discovery_loads_treatment_consumer_without_errors(alt_folder, tmp_path):
    found = discover(tmp_path)
    assert {name: str(failure.exception) for name, failure in found.errors.items()} == {}
    assert set(found.experiments) == {"prep", "alt"}
    assert found.graphs["alt"].order == ["prep", "alt"]


def test_unknown_experiment_in_treatment_datasource_names_the_field(tmp_path):
    folder = write(tmp_path, "alt", ALT.replace("prep#features", "prepp#features"), datasources=ALT_DATASOURCES, steps=ALT_STEPS)
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    message = str(info.value)
    assert "treatments.from_prep.datasource: no experiment named 'prepp' among the folders beside this one" in message
    assert "(line 6)" in message


def test_nested_upstream_error_gives_each_line_once_beside_its_own_file(tmp_path):
    write(tmp_path, "c", "name: c\ndatasource: {x: nope#out}\nsteps: [s]\n", steps=PLAIN_STEPS)
    folder = write(tmp_path, "d", "name: d\nsteps: [s]\ndatasource: {x: c#out}\n", steps=PLAIN_STEPS)
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    first, second = str(info.value).splitlines()
    assert first == "experiments/d/config.yaml: datasource.x: the upstream experiment 'c' could not be loaded (line 3):"
    assert second.startswith("experiments/c/config.yaml: datasource.x: no experiment named 'nope'")
    assert second.endswith("(line 2)")
    assert second.count("(line") == 1
