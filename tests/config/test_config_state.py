"""config.state.json: disabled treatments and step cache switches."""

from __future__ import annotations

import json
import logging
import re

import pytest

from crystallize import Experiment
from crystallize.config import (
    STATE_FILE,
    ConfigValidationError,
    ExperimentState,
    load_state,
    save_state,
)

CONFIG = """
datasource: numbers
steps: [add_delta, {scale: {factor: 2}}, total]
treatments:
  small: {delta: 1.0}
  large: {delta: 10.0}
"""


def test_missing_state_file_means_no_switches(tmp_path):
    assert load_state(tmp_path) == ExperimentState()


def test_round_trip_and_atomic_write(tmp_path):
    state = ExperimentState(disabled_treatments=["large"], cache={"scale": True}, cache_all=False)
    path = save_state(tmp_path, state)
    assert path == tmp_path / STATE_FILE
    assert json.loads(path.read_text()) == {"cache": {"scale": True}, "cache_all": False, "disabled_treatments": ["large"]}
    assert load_state(tmp_path) == state
    assert load_state(tmp_path / "config.yaml") == state  # the config file works as well
    assert [p.name for p in tmp_path.iterdir()] == [STATE_FILE]  # no temporary files left


def test_disabled_treatments_are_left_out(make_folder):
    folder = make_folder("demo", CONFIG)
    save_state(folder, ExperimentState(disabled_treatments=["large"]))
    experiment = Experiment.from_yaml(folder)
    assert [t.name for t in experiment.treatments] == ["small"]
    assert [t.name for t in experiment.declared_treatments] == ["small", "large"]
    assert experiment.state.disabled_treatments == ["large"]
    assert list(experiment.run().metrics.treatments) == ["small"]


def test_cache_switches_set_step_cacheable(make_folder):
    folder = make_folder("demo", CONFIG)
    save_state(folder, ExperimentState(cache={"scale": True}))
    steps = Experiment.from_yaml(folder).pipeline.steps
    assert [s.cacheable for s in steps] == [False, True, False]

    save_state(folder, ExperimentState(cache={"scale": False}, cache_all=True))
    steps = Experiment.from_yaml(folder).pipeline.steps
    assert [s.cacheable for s in steps] == [True, False, True]


def test_cache_switches_reach_steps_a_treatment_swaps_in(make_folder):
    config = CONFIG.replace("  large: {delta: 10.0}", "  large: {delta: 10.0}\n  triple:\n    steps: {scale: {scale: {factor: 3}}}")
    folder = make_folder("demo", config)
    save_state(folder, ExperimentState(cache={"scale": True}))
    experiment = Experiment.from_yaml(folder)
    (triple,) = [t for t in experiment.treatments if t.name == "triple"]
    assert [s.cacheable for s in triple.own_steps()] == [True]
    save_state(folder, ExperimentState(cache_all=True, cache={"scale": False}))
    experiment = Experiment.from_yaml(folder)
    (triple,) = [t for t in experiment.treatments if t.name == "triple"]
    assert [s.cacheable for s in triple.own_steps()] == [False]


def test_cached_step_is_reused_across_runs(make_folder):
    folder = make_folder("demo", CONFIG + "plugins: {seed: {seed: 4}}\n")
    save_state(folder, ExperimentState(cache={"scale": True}))
    Experiment.from_yaml(folder).run()
    second = Experiment.from_yaml(folder).run()
    hits = [step.cache_hit for record in second.records for step in record.steps if step.name == "scale"]
    assert hits and all(hits)


def test_unknown_names_are_ignored_with_a_warning(make_folder, caplog):
    folder = make_folder("demo", CONFIG)
    save_state(folder, ExperimentState(disabled_treatments=["gone"], cache={"vanished": True}))
    with caplog.at_level(logging.WARNING, logger="crystallize.config"):
        experiment = Experiment.from_yaml(folder)
    assert len(experiment.treatments) == 2
    assert "disabled treatment 'gone' is not in the config" in caplog.text
    assert "cache switch for unknown step 'vanished'" in caplog.text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # Python 3.13 reports the trailing comma itself (column 29), 3.11 and 3.12 the ']'.
        ('{"disabled_treatments": ["a",]}', re.compile(r"line 1, column \d+: invalid JSON")),
        ('["a"]', "expected a JSON object, got list"),
        ('{"disabled_treatments": "large"}', "disabled_treatments: expected a list of treatment names"),
        ('{"cache": {"scale": "yes"}}', "cache: expected an object {step name: true/false}"),
        ('{"cache_all": 1}', "cache_all: expected true, false or null"),
        ('{"disabled": []}', "disabled: unknown key"),
    ],
)
def test_malformed_state_file(make_folder, content, expected):
    folder = make_folder("demo", CONFIG)
    (folder / STATE_FILE).write_text(content)
    with pytest.raises(ConfigValidationError) as info:
        Experiment.from_yaml(folder)
    assert STATE_FILE in str(info.value)
    pattern = expected if isinstance(expected, re.Pattern) else re.compile(re.escape(expected))
    assert pattern.search(str(info.value))


def test_cache_switch_survives_pickling_for_worker_processes(make_folder):
    import pickle

    folder = make_folder("demo", CONFIG)
    save_state(folder, ExperimentState(cache={"scale": True}))
    step = Experiment.from_yaml(folder).pipeline.steps[1]
    assert pickle.loads(pickle.dumps(step)).cacheable is True
