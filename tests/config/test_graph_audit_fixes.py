"""Experiment graphs: the producer run a consumer reads, ``--set`` artifact roots, the
same experiment name in two folders, and cycle errors' lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.config import ConfigCycleError, ExperimentGraph
from crystallize.exceptions import ConfigError
from crystallize.fingerprint import fingerprint, spec_of
from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.plugins.seed import SeedPlugin

TRAIN = """
name: train
replicates: 2
datasource: {{pts: numbers}}
steps: [fit]
outputs:
  model: {{file_name: model.json, loader: load_json, writer: dump_json}}
plugins:
  seed: {{seed: 11}}
  artifacts: {artifacts}
"""

TRAIN_STEPS = """
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def fit(data, ctx, *, model: Artifact):
    model.write({"seed": ctx["seed_used"], "replicate": ctx["replicate"]})
    return data, {"trained_seed": ctx["seed_used"]}
"""

OUTPUTS = """
import json


def dump_json(value):
    return json.dumps(value).encode("utf-8")


def load_json(data):
    return json.loads(data.decode("utf-8"))
"""

EVALUATE = """
name: evaluate
replicates: 2
datasource: {{model: train#model}}
steps: [score]
plugins:
  seed: {{seed: 3}}
  artifacts: {artifacts}
"""

EVALUATE_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def score(data):
    return data, {"model_seed": data["seed"]}
"""


@pytest.fixture
def graph_project(make_folder, experiments_root):
    """``make(artifacts="{versioned: true}", evaluate_artifacts="{}")`` -> the evaluate folder."""

    def make(artifacts: str = "{versioned: true}", evaluate_artifacts: str = "{}") -> Path:
        make_folder("train", TRAIN.format(artifacts=artifacts), steps=TRAIN_STEPS, outputs=OUTPUTS)
        return make_folder(
            "evaluate", EVALUATE.format(artifacts=evaluate_artifacts), datasources=None, steps=EVALUATE_STEPS
        )

    return make


def _run_train_with_seed(folder: Path, seed: int) -> str:
    """Run ``train`` alone, with another seed (a newer run the graph must not read)."""
    train = Experiment.from_yaml(folder.parent / "train")
    train.get_plugin(SeedPlugin).seed = seed
    result = train.run()
    assert not result.errors
    return result.run_id


def _read_by(result) -> str:
    """The run id of ``train`` that an ``evaluate`` Result read."""
    (entry,) = result.info["upstream"]
    return entry["run_id"]


# -- A: a graph's consumer reads the producer run the graph ran ------------------------------


def test_graph_resume_pairs_the_consumer_with_the_producer_run_it_resumed(graph_project):
    evaluate = graph_project()
    first = ExperimentGraph.from_yaml(evaluate).run()
    newer = _run_train_with_seed(evaluate, 77)  # the newest run of train, another seed

    results = ExperimentGraph.from_yaml(evaluate).run(strategy="resume")

    assert results["train"].run_id == first["train"].run_id != newer
    assert _read_by(results["evaluate"]) == results["train"].run_id
    trained = results["train"].metrics.baseline.metrics["trained_seed"]
    assert results["evaluate"].metrics.baseline.metrics["model_seed"] == trained


def test_running_the_graphs_experiments_in_order_pairs_them_too(graph_project):
    """What ``crystallize run evaluate`` does: each experiment of the graph in order."""
    evaluate = graph_project()
    ExperimentGraph.from_yaml(evaluate).run()
    _run_train_with_seed(evaluate, 77)

    graph = ExperimentGraph.from_yaml(evaluate)
    before = fingerprint(spec_of(graph["evaluate"]))
    results = {name: graph[name].run(strategy="resume") for name in graph.order}

    assert _read_by(results["evaluate"]) == results["train"].run_id
    assert results["evaluate"].info["computed"] == 0  # it read that very run before
    assert fingerprint(spec_of(graph["evaluate"])) == before  # following is no part of it


def test_a_graph_rerun_reads_the_run_it_just_made(graph_project):
    evaluate = graph_project()
    graph = ExperimentGraph.from_yaml(evaluate)
    graph.run()
    _run_train_with_seed(evaluate, 77)

    results = graph.run()

    assert _read_by(results["evaluate"]) == results["train"].run_id


def test_an_unversioned_producer_run_replaced_since_is_refused_not_read(graph_project):
    from crystallize.config.upstream import MissingUpstreamArtifactError
    from crystallize.store import list_runs

    evaluate = graph_project(artifacts="{}")  # unversioned: every run of train writes v0
    graph = ExperimentGraph.from_yaml(evaluate)
    ran = graph.run()
    newer = _run_train_with_seed(evaluate, 77)  # another process, say: v0 is now its files

    with pytest.raises(MissingUpstreamArtifactError) as refused:
        graph["evaluate"].run()
    message = str(refused.value)
    assert ran["train"].run_id in message and newer in message and "versioned: true" in message
    assert len(list_runs("data", "evaluate")) == 1  # refused before a run was stored

    again = graph.run()  # running the graph again pairs them anew
    assert _read_by(again["evaluate"]) == again["train"].run_id


def test_a_consumer_run_alone_still_reads_the_newest_producer_run(graph_project):
    evaluate = graph_project()
    ExperimentGraph.from_yaml(evaluate).run()
    newer = _run_train_with_seed(evaluate, 77)

    assert _read_by(Experiment.from_yaml(evaluate).run()) == newer


def test_a_graph_whose_producer_has_not_run_reads_the_newest_run(graph_project):
    evaluate = graph_project()
    ExperimentGraph.from_yaml(evaluate).run()
    newer = _run_train_with_seed(evaluate, 77)

    graph = ExperimentGraph.from_yaml(evaluate)
    assert _read_by(graph["evaluate"].run()) == newer


# -- B: the artifact root follows the reading experiment ---------------------------------------


def _move_root(experiment: Experiment, root: str) -> None:
    """Give ``experiment`` another ArtifactPlugin root, as ``--set plugins.artifacts.root_dir`` does."""
    old = experiment.get_plugin(ArtifactPlugin)
    experiment.plugins = [p for p in experiment.plugins if p is not old]
    experiment.plugins.append(ArtifactPlugin(root_dir=root, versioned=old.versioned))


@pytest.mark.parametrize("root_in_config", ["{}", "{root_dir: data}"])
def test_a_consumer_reads_under_the_root_the_graph_was_moved_to(graph_project, tmp_path, root_in_config):
    evaluate = graph_project(artifacts="{versioned: true}", evaluate_artifacts=root_in_config)
    graph = ExperimentGraph.from_yaml(evaluate)
    for experiment in graph:
        _move_root(experiment, "elsewhere")

    results = {name: graph[name].run() for name in graph.order}

    assert not results["evaluate"].errors
    assert _read_by(results["evaluate"]) == results["train"].run_id
    assert (tmp_path / "elsewhere" / "train").is_dir()
    assert not (tmp_path / "data").exists()


def test_graph_run_checks_the_roots_before_running_anything(graph_project, tmp_path):
    evaluate = graph_project()
    graph = ExperimentGraph.from_yaml(evaluate)
    _move_root(graph["evaluate"], "elsewhere")  # only the consumer moved: they disagree

    with pytest.raises(ConfigError, match="root_dir"):
        graph.run()

    assert not (tmp_path / "data").exists()  # train did not run
    assert not (tmp_path / "elsewhere").exists()


# -- C: the same experiment name in two folders ------------------------------------------------


SKELETON = """
name: {name}
replicates: 1
datasource: {{src: numbers}}
steps: [total]
"""


def test_loading_a_folder_whose_name_an_earlier_folder_has_is_refused(make_folder, experiments_root):
    make_folder("a", SKELETON.format(name="a"))
    second = make_folder("z", SKELETON.format(name="a"), root=experiments_root / "sub")

    with pytest.raises(ConfigError, match=r"the experiment name 'a' is already used by experiments/a/config\.yaml"):
        Experiment.from_yaml(second)
    with pytest.raises(ConfigError, match="experiment names must be unique"):
        ExperimentGraph.from_yaml(second)
    assert Experiment.from_yaml(experiments_root / "a").name == "a"  # the first in path order


def test_a_folder_named_like_another_experiment_counts_too(make_folder, experiments_root):
    make_folder("a", SKELETON.format(name="a"))
    second = make_folder("b", SKELETON.format(name="a"))

    with pytest.raises(ConfigError, match="already used by"):
        Experiment.from_yaml(second)


def test_discovery_reports_the_same_error_once(make_folder, experiments_root):
    from crystallize.config import discover

    make_folder("a", SKELETON.format(name="a"))
    second = make_folder("z", SKELETON.format(name="a"), root=experiments_root / "sub")

    found = discover(experiments_root.parent)

    assert list(found.experiments) == ["a"]
    (failure,) = found.errors.values()
    assert failure.path == second / "config.yaml"
    assert failure.message == (
        "experiments/sub/z/config.yaml: the experiment name 'a' is already used by "
        "experiments/a/config.yaml; experiment names must be unique"
    )



def test_an_upstream_whose_name_an_earlier_folder_has_is_refused_under_discovery(
    graph_project, make_folder, experiments_root
):
    # experiments/sub/train comes first in path order, so the sibling 'train' that
    # evaluate reads is the duplicate discover() reports: loading evaluate must not run it.
    from crystallize.config import discover

    graph_project()
    make_folder("train", TRAIN.format(artifacts="{}"), steps=TRAIN_STEPS, outputs=OUTPUTS,
                root=experiments_root / "sub")

    found = discover(experiments_root.parent)

    assert list(found.experiments) == ["train"]
    messages = {path.parent.name: failure.message for path, failure in found.errors.items()}
    assert set(messages) == {"train", "evaluate"}
    assert "the upstream experiment 'train' could not be loaded" in messages["evaluate"]
    assert "'train' is already used by experiments/sub/train/config.yaml" in messages["evaluate"]
    with pytest.raises(ConfigError, match="already used by experiments/sub/train"):
        ExperimentGraph.from_yaml(experiments_root / "evaluate")

# -- D: cycle errors give the line -------------------------------------------------------------


def test_a_cycle_error_gives_the_line_of_the_reference(make_folder):
    folder = make_folder(
        "a",
        """
        name: a
        replicates: 1
        datasource:
          x: a#out
        steps: [total]
        outputs:
          out: {file_name: out.json}
        """,
    )

    with pytest.raises(ConfigCycleError) as info:
        Experiment.from_yaml(folder)

    assert str(info.value).startswith("experiments/a/config.yaml: datasource.x: experiments read each other's")
    assert str(info.value).endswith(" (line 5)")
    assert info.value.line == 5


# -- the command line ----------------------------------------------------------------------------


def _crystallize(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("crystallize", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "crystallize.cli"]
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    return subprocess.run([*command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_command_resume_pairs_evaluate_with_the_train_run_it_resumed(graph_project, tmp_path):
    graph_project()
    first = json.loads(_crystallize(tmp_path, "run", "train", "--json").stdout)
    newer = json.loads(_crystallize(tmp_path, "run", "train", "--seed", "77", "--json").stdout)

    done = _crystallize(tmp_path, "run", "evaluate", "--strategy", "resume", "--json")

    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["train"]["run_id"] == first["run_id"] != newer["run_id"]
    assert results["evaluate"]["info"]["upstream"][0]["run_id"] == first["run_id"]


def test_command_set_root_dir_moves_the_whole_graph(graph_project, tmp_path):
    graph_project(artifacts="{}", evaluate_artifacts="{}")

    done = _crystallize(tmp_path, "run", "evaluate", "--set", "plugins.artifacts.root_dir=elsewhere")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere" / "evaluate").is_dir()
    assert not (tmp_path / "data").exists()


def test_command_run_path_refuses_a_duplicate_name(make_folder, experiments_root, tmp_path):
    make_folder("a", SKELETON.format(name="a"))
    make_folder("z", SKELETON.format(name="a"), root=experiments_root / "sub")

    done = _crystallize(tmp_path, "run", "experiments/sub/z")

    assert done.returncode == 2
    assert "the experiment name 'a' is already used by experiments/a/config.yaml" in done.stderr
    assert not (tmp_path / "data").exists()
