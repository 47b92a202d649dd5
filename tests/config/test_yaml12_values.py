"""config.yaml (and ``--set``) values follow YAML 1.2, keys that must be names are strings,
and hypotheses and treatments need real names."""

from __future__ import annotations

import datetime
import math

import pytest

from crystallize import Experiment
from crystallize.cli.overrides import parse_value
from crystallize.config.yaml_io import load_config_text
from crystallize.exceptions import ConfigError

STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def total(data, ctx, *, lr=0.1, label="x"):
    return data, {"total": sum(data), "scaled": lr * 2}
'''


def _error(folder) -> str:
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    return str(info.value)


# -- values: the YAML 1.2 core schema ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 0.001), ("1E5", 100000.0), (".5", 0.5), ("-1.5e-3", -0.0015), ("1.", 1.0),
        ("+.inf", math.inf), ("-.inf", -math.inf), ("10", 10), ("010", 10), ("-3", -3),
        ("0o17", 15), ("0x1F", 31), ("1_000", 1000), ("true", True), ("False", False),
        ("TRUE", True), ("null", None), ("~", None), ("2020-01-01", datetime.date(2020, 1, 1)),
    ],
)
def test_plain_values_read_by_yaml_1_2(text, expected):
    value = load_config_text(f"x: {text}")["x"]
    assert value == expected and type(value) is type(expected)
    assert parse_value(text) == expected and type(parse_value(text)) is type(expected)


@pytest.mark.parametrize("text", ["yes", "no", "NO", "on", "off", "Yes", "y", "n", "12:30", "0b11", "tRUE", "="])
def test_yaml_1_1_booleans_base_60_and_others_stay_strings(text):
    assert load_config_text(f"x: {text}") == {"x": text}
    assert parse_value(text) == text


def test_nan_and_quoted_values():
    assert math.isnan(load_config_text("x: .nan")["x"])
    assert load_config_text("x: '1e-3'\ny: \"010\"") == {"x": "1e-3", "y": "010"}
    assert parse_value("'1e-3'") == "1e-3"


def test_still_safe_loading():
    import yaml

    with pytest.raises(yaml.YAMLError):
        load_config_text("x: !!python/object/apply:os.system ['true']")


def test_a_learning_rate_in_scientific_notation_reaches_the_step_as_a_float(make_folder):
    config = """
    datasource: {source: numbers}
    steps: [total]
    initial_ctx: {lr: 1e-3, label: off}
    treatments:
      big: {lr: 2E-1}
      octal_looking: {lr: 010}
    """
    experiment = Experiment.from_yaml(make_folder("demo", config, steps=STEPS))
    assert experiment.initial_ctx == {"lr": 0.001, "label": "off"}
    values = {t.name: t.values for t in experiment.treatments}
    assert values == {"big": {"lr": 0.2}, "octal_looking": {"lr": 10}}
    result = experiment.run()
    assert result.metrics.baseline.metrics["scaled"] == [0.002]


def test_yes_for_a_boolean_setting_is_refused_with_a_hint(make_folder):
    config = "datasource: {source: numbers}\nsteps: [total]\nplugins:\n  logging: {verbose: yes}\n"
    message = _error(make_folder("demo", config, steps=STEPS))
    assert "plugins.logging.verbose: expected true or false, got 'yes' (a string)" in message
    assert "YAML 1.2 reads yes/no/on/off as strings: write true or false" in message


def test_the_declared_name_is_read_by_the_same_rules(make_folder):
    from crystallize.config.loader import declared_name

    folder = make_folder("demo", "name: yes\ndatasource: {source: numbers}\nsteps: [total]\n", steps=STEPS)
    assert declared_name(folder / "config.yaml") == "yes"
    assert Experiment.from_yaml(folder).name == "yes"


# -- keys -----------------------------------------------------------------------------------
KEYS = """\
name: k
replicates: 1
datasource: {source: numbers}
steps: [total]
treatments:
  1: {delta: 1}
  0.5: {delta: 2}
  yes: {delta: 3}
  2020-01-01: {delta: 4}
  1e3: {delta: 5}
"""


def test_keys_read_as_numbers_or_dates_are_named_at_their_own_lines(make_folder):
    message = _error(make_folder("k", KEYS, steps=STEPS))
    assert "has 4 problems" in message
    assert 'treatments: the key 1 is read as an integer, but this key must be a string: quote it ("1":) (line 6)' in message
    assert 'treatments: the key 0.5 is read as a number, but this key must be a string: quote it ("0.5":) (line 7)' in message
    assert 'the key 2020-01-01 is read as a date, but this key must be a string: quote it ("2020-01-01":) (line 9)' in message
    assert 'the key 1e3 is read as a number, but this key must be a string: quote it ("1e3":) (line 10)' in message
    assert "treatments[1]" not in message
    assert "yes" not in message  # a string key, kept


def test_quoted_keys_are_names(make_folder):
    config = KEYS
    for key in ("1", "0.5", "2020-01-01", "1e3"):
        config = config.replace(f"\n  {key}:", f'\n  "{key}":')
    experiment = Experiment.from_yaml(make_folder("k", config, steps=STEPS))
    assert [t.name for t in experiment.treatments] == ["1", "0.5", "yes", "2020-01-01", "1e3"]


def test_other_keys_that_must_be_strings(make_folder):
    config = "datasource: {source: numbers}\nsteps: [total]\ninitial_ctx:\n  lr: 1\n  2: 3\ntreatments:\n  t:\n    4: 5\n7: 1\n"
    message = _error(make_folder("demo", config, steps=STEPS))
    assert 'initial_ctx: the key 2 is read as an integer, but this key must be a string: quote it ("2":) (line 5)' in message
    assert 'treatments.t: the key 4 is read as an integer, but this key must be a string: quote it ("4":) (line 8)' in message
    assert 'config.yaml: line 9: the key 7 is read as an integer, but this key must be a string: quote it ("7":)' in message


def test_keys_inside_a_context_value_may_be_numbers(make_folder):
    config = "datasource: {source: numbers}\nsteps: [total]\ninitial_ctx:\n  weights: {0: 1.0, 1: 2.5}\n"
    experiment = Experiment.from_yaml(make_folder("demo", config, steps=STEPS))
    assert experiment.initial_ctx == {"weights": {0: 1.0, 1: 2.5}}


def test_keys_that_read_as_the_same_value_are_not_silently_merged(make_folder):
    config = "datasource: {source: numbers}\nsteps: [total]\ninitial_ctx:\n  weights:\n    1: a\n    true: b\n"
    message = _error(make_folder("demo", config, steps=STEPS))
    assert "initial_ctx.weights: the keys '1' (line 5) and 'true' are the same key once read (True)" in message
    assert "(line 6)" in message


def test_a_parameter_name_read_as_a_number_gets_the_hint(make_folder):
    config = "datasource: {source: numbers}\nsteps:\n  - total: {1: 2}\n"
    message = _error(make_folder("demo", config, steps=STEPS))
    assert "parameter names of 'total' must be strings, got 1 (an integer); quote the key to make it a string" in message


# -- hypotheses ------------------------------------------------------------------------------
HYPOTHESIS = """
datasource: {source: numbers}
steps: [add_delta, total]
treatments: {shifted: {delta: 3.0}}
hypotheses:
  - {name: %s, verifier: welch_t_test, metrics: %s}
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [('""', "the hypothesis name is an empty string"), ('"   "', "the hypothesis name is a blank string '   '")],
)
def test_a_hypothesis_needs_a_name(make_folder, name, expected):
    message = _error(make_folder("demo", HYPOTHESIS % (name, "total")))
    assert f"hypotheses[0].name: {expected}: give each hypothesis a name of its own" in message


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ('""', "got an empty string"),
        ('"  "', "got a blank string '  '"),
        ('[total, ""]', "but metrics[1] is an empty string"),
    ],
)
def test_blank_metric_names_are_named_as_written(make_folder, metrics, expected):
    message = _error(make_folder("demo", HYPOTHESIS % ("h", metrics)))
    assert f"hypotheses[0].metrics: expected a metric name or a non-empty list of metric names, {expected}" in message
    assert "(a list)" not in message


@pytest.mark.parametrize(
    ("name", "expected"), [('""', "treatments.'': the treatment name is an empty string"), ('" "', "treatments.' ': the treatment name is a blank string ' '")]
)
def test_a_treatment_needs_a_name(make_folder, name, expected):
    config = f"datasource: {{source: numbers}}\nsteps: [add_delta, total]\ntreatments:\n  {name}: {{delta: 1.0}}\n"
    message = _error(make_folder("demo", config))
    assert f"{expected}: give the treatment a name" in message
    assert "(line 4)" in message


def test_crystallize_new_reads_names_as_the_loader_does(make_folder, experiments_root):
    """``crystallize new`` checks a name is free by the names discovery reads: ``name: yes``
    is the name 'yes' there too (YAML 1.1 made it True, so the folder name was used)."""
    from crystallize.cli.scaffold import experiment_names

    folder = make_folder("folder_name", "name: yes\ndatasource: {source: numbers}\nsteps: [add_delta, total]\n")
    assert Experiment.from_yaml(folder).name == "yes"
    assert experiment_names(experiments_root) == {"yes": folder}
