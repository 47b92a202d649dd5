"""validate() re-checks what the constructor and Pipeline check, for changes made after
construction, and reports them before a run is stored; ``experiment.pipeline`` takes
what ``pipeline=`` takes."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    ExperimentValidationError,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)


@data_source
def src(ctx):
    return [1, 2, 3]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}


@pipeline_step()
def double(data):
    return [x * 2 for x in data]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


def _experiment(root: Path, **kwargs) -> Experiment:
    return Experiment(
        datasource=src(),
        pipeline=Pipeline([total()]),
        plugins=[ArtifactPlugin(root_dir=str(root))],
        replicates=2,
        name="r02",
        **kwargs,
    )


def _refused(experiment: Experiment, root: Path) -> str:
    """The validate() message; run() raises the same and stores nothing."""
    with pytest.raises(ExperimentValidationError) as info:
        experiment.validate()
    with pytest.raises(ExperimentValidationError):
        experiment.run()
    assert not root.exists(), "validation must happen before the run is stored"
    return str(info.value)


def _constructor_message(steps) -> str:
    with pytest.raises(TypeError) as info:
        Pipeline(steps)
    return str(info.value).rstrip(".")


def test_appended_factory_is_named_with_its_position_and_the_constructors_message(root):
    experiment = _experiment(root)
    experiment.pipeline.steps.append(total)
    message = _refused(experiment, root)
    assert "Pipeline step 1 is" in message and "Call it: total()" in message
    assert _constructor_message([total(), total]) in message


def test_appended_lambda_is_refused(root):
    experiment = _experiment(root)
    experiment.pipeline.steps.append(lambda data, ctx: data)
    message = _refused(experiment, root)
    assert "Pipeline step 1 is" in message and "a plain function ('<lambda>')" in message


def test_steps_replaced_by_something_else_than_a_list(root):
    experiment = _experiment(root)
    experiment.pipeline.steps = total()
    assert "pipeline.steps is FunctionStep" in _refused(experiment, root)


def test_appended_mapping_is_not_a_treatment(root):
    experiment = _experiment(root)
    experiment.treatments.append({"delta": 1})
    message = _refused(experiment, root)
    assert "experiment.treatments[0] is {'delta': 1} (dict), not a Treatment" in message
    assert "treatment('name', {'delta': 1})" in message


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("big", "a name only chooses among the experiment's treatments"),
        (lambda ctx: None, "give the function a name: treatment('name', "),
        (3, "add a Treatment"),
    ],
    ids=["name", "function", "int"],
)
def test_other_non_treatments_are_refused(root, item, expected):
    experiment = _experiment(root, treatments=[treatment("a", {})])
    experiment.treatments.append(item)
    message = _refused(experiment, root)
    assert "experiment.treatments[1] is" in message and expected in message


def test_treatment_pipeline_and_swaps_are_checked_again(root):
    experiment = _experiment(root, treatments=[treatment("p", pipeline=[total()])])
    experiment.treatments[0].pipeline.steps.insert(0, double)
    message = _refused(experiment, root)
    assert "the pipeline of treatment 'p': Pipeline step 0 is" in message and "Call it: double()" in message

    experiment = _experiment(root, treatments=[treatment("s", steps={"total": total()})])
    experiment.treatments[0].steps["total"] = total
    message = _refused(experiment, root)
    assert "Treatment 's' replaces step 'total' with" in message and "Call it: total()" in message


def test_pipeline_assignment_takes_what_the_constructor_takes(root):
    experiment = _experiment(root)
    experiment.pipeline = [double(), total()]
    assert isinstance(experiment.pipeline, Pipeline)
    assert [step.name for step in experiment.pipeline.steps] == ["double", "total"]
    result = experiment.run()
    assert result.metrics.baseline.metrics["total"] == [12, 12]

    experiment.pipeline = total()
    assert isinstance(experiment.pipeline, Pipeline) and len(experiment.pipeline) == 1
    with pytest.raises(TypeError) as info:
        experiment.pipeline = [total]
    assert str(info.value) == _constructor_message([total]) + "."
    experiment.pipeline = None
    with pytest.raises(ExperimentValidationError, match="no pipeline"):
        experiment.validate()


def test_pipeline_property_copies_and_pickles(root):
    experiment = _experiment(root)
    assert copy.copy(experiment).pipeline is experiment.pipeline
    assert copy.deepcopy(experiment).pipeline.steps[0].name == "total"
    clone = pickle.loads(pickle.dumps(experiment))
    assert [step.name for step in clone.pipeline.steps] == ["total"]
    assert "pipeline" in vars(experiment)  # stored as it always was


def test_appended_string_is_not_a_plugin(root):
    experiment = _experiment(root)
    experiment.plugins.append("seed")
    message = _refused(experiment, root)
    assert "experiment.plugins[4]: plugins must be BasePlugin instances, got 'seed' (str)" in message
    assert "execution plugin" not in message


def test_appended_plugin_class_is_refused_with_the_constructors_hint(root):
    experiment = _experiment(root)
    experiment.plugins[experiment.plugins.index(experiment.get_plugin(SeedPlugin))] = SeedPlugin
    message = _refused(experiment, root)
    assert "experiment.plugins[" in message and "SeedPlugin instead of SeedPlugin()" in message
    assert "exactly one SeedPlugin, but holds 0" in message  # the class is no SeedPlugin either


def test_initial_ctx_replaced_by_a_non_mapping(root):
    experiment = _experiment(root)
    experiment.initial_ctx = [("lr", 0.1)]
    assert "experiment.initial_ctx must be a mapping" in _refused(experiment, root)


def test_every_problem_is_reported_at_once(root):
    experiment = _experiment(root)
    experiment.pipeline.steps.append(total)
    experiment.treatments.append({"delta": 1})
    experiment.plugins.append("seed")
    message = _refused(experiment, root)
    assert "Pipeline step 1" in message and "treatments[0]" in message and "plugins[4]" in message
