"""The shipped examples load and run (with few replicates)."""

from __future__ import annotations

from pathlib import Path

from crystallize import Experiment
from crystallize.config import ExperimentGraph, discover

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_folder_experiment_example():
    experiment = Experiment.from_yaml(EXAMPLES / "folder_experiment")
    assert experiment.name == "smoothing"
    assert experiment.cli.group == "Examples"
    result = experiment.run(replicates=4)
    assert not result.errors
    assert set(result.metrics.treatments) == {"window_5", "window_15"}
    worthwhile = result.get_hypothesis("worthwhile")
    assert worthwhile.ranking == ["window_15", "window_5"]
    summary = Path("data/smoothing/v0/window_5/3/summary.json")
    assert experiment.outputs["summary"].loader(summary.read_bytes())["condition"] == "window_5"


def test_graph_example():
    graph = ExperimentGraph.from_yaml(EXAMPLES / "graph" / "evaluate")
    assert graph.order == ["train", "evaluate"]
    results = graph.run(replicates=3)
    assert not results["train"].errors and not results["evaluate"].errors
    assert len(results["evaluate"].metrics.baseline.metrics["mse"]) == 3
    noisy = results["evaluate"].metrics.treatments["noisy_test"].metrics["mse"]
    assert min(noisy) > max(results["evaluate"].metrics.baseline.metrics["mse"])


def test_graph_example_is_discovered():
    found = discover(EXAMPLES / "graph")
    assert found.ok, found.errors
    assert set(found.experiments) == {"train", "evaluate"}
    assert list(found.graphs) == ["evaluate"]


def test_the_guides_complete_example_matches_the_shipped_one():
    import re

    from crystallize.config.validate import validate_document
    from crystallize.config.yaml_io import parse_yaml

    guide = (EXAMPLES.parent / "docs" / "config.md").read_text(encoding="utf-8")
    first_yaml = re.findall(r"```yaml\n(.*?)```", guide, re.S)[0]
    documented = validate_document(parse_yaml(first_yaml, Path("config.md")))
    shipped = validate_document(parse_yaml((EXAMPLES / "folder_experiment" / "config.yaml").read_text(), Path("config.yaml")))
    assert documented.model_dump(exclude={"cli"}) == shipped.model_dump(exclude={"cli"})
