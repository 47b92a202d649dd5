"""config.yaml options that would be silently ignored or run nothing: refused when the
folder is loaded, naming the field, the treatment and what to write instead."""

from __future__ import annotations

import pytest

from crystallize import Experiment
from crystallize.config.build import execution_plugin
from crystallize.exceptions import ConfigError


def _error(folder) -> str:
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    return str(info.value)


BASE = "datasource: numbers\nsteps: [add_delta, total]\n"


def test_an_empty_treatment_pipeline_is_refused_like_empty_steps(make_folder):
    folder = make_folder("demo", BASE + "treatments:\n  shifted: {delta: 1}\n  hollow: {pipeline: []}\n")
    message = _error(folder)
    assert "treatments.hollow.pipeline: treatment 'hollow' has an empty pipeline: list at least one step" in message
    assert "nothing to run or measure" in message
    assert "(line 5)" in message


def test_an_empty_pipeline_in_block_form_and_with_values(make_folder):
    folder = make_folder(
        "demo", BASE + "treatments:\n  hollow:\n    values: {delta: 2}\n    pipeline: []\n"
    )
    message = _error(folder)
    assert "treatments.hollow.pipeline: treatment 'hollow' has an empty pipeline" in message
    assert "(line 6)" in message


def test_an_empty_steps_swap_is_refused(make_folder):
    folder = make_folder("demo", BASE + "treatments:\n  same: {steps: {}, values: {delta: 1}}\n")
    message = _error(folder)
    assert "treatments.same.steps: treatment 'same' swaps no step" in message
    assert "leave steps out" in message


def test_every_empty_treatment_is_reported_at_once(make_folder):
    folder = make_folder("demo", BASE + "treatments:\n  a: {pipeline: []}\n  b: {steps: {}}\n  c: {pipeline: []}\n")
    message = _error(folder)
    assert "has 3 problems" in message
    for name in ("a", "b", "c"):
        assert f"treatment '{name}'" in message


def test_context_keys_named_pipeline_or_steps_still_go_under_values(make_folder):
    folder = make_folder(
        "demo", BASE + "treatments:\n  keyed: {values: {pipeline: [], steps: {}}}\n  plain:\n"
    )
    experiment = Experiment.from_yaml(folder)
    keyed = next(t for t in experiment.treatments if t.name == "keyed")
    assert keyed.values == {"pipeline": [], "steps": {}}
    assert keyed.pipeline is None and keyed.steps is None


def test_a_treatment_pipeline_with_steps_still_loads(make_folder):
    folder = make_folder("demo", BASE + "treatments:\n  raw: {pipeline: [total]}\n")
    experiment = Experiment.from_yaml(folder)
    assert [len(t.pipeline.steps) for t in experiment.treatments] == [1]


def test_async_uses_workers(make_folder):
    folder = make_folder("demo", BASE + "plugins: {execution: {strategy: async, workers: 3}}\n")
    assert Experiment.from_yaml(folder).execution_plugin.max_concurrency == 3


@pytest.mark.parametrize(("strategy", "options"), [("serial", {"workers": 2}), ("thread", {"address": "auto"})])
def test_the_plugin_builder_drops_no_option_silently(strategy, options):
    with pytest.raises(ValueError, match="would ignore it"):
        execution_plugin(strategy, **options)


@pytest.mark.parametrize(
    "root_dir,problem",
    [("z" * 300, "(300 characters) is too long: a file or folder name can have at most"), ("a\\0b", "holds a NUL byte")],
    ids=["too long", "nul"],
)
def test_a_root_dir_no_path_can_have_is_a_config_error(make_folder, root_dir, problem):
    folder = make_folder("demo", BASE + f'plugins:\n  artifacts: {{root_dir: "{root_dir}"}}\n')
    message = _error(folder)
    assert "plugins.artifacts.root_dir: " in message and problem in message and "(line 4)" in message
