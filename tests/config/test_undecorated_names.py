"""A name config.yaml uses that exists in the module, but is not the kind of factory asked
for (an undecorated function, a factory of another kind), is reported as what it is."""

from __future__ import annotations

import pytest

from crystallize import Experiment
from crystallize.cli.main import main
from crystallize.exceptions import ConfigError

STEPS = '''
from crystallize import data_source, pipeline_step


def plain(data):
    return data


class Helper:
    pass


@data_source
def stray_source(ctx):
    return [1.0]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}


built_total = total()


@pipeline_step()
def _hidden(data):
    return data
'''

DATASOURCES = '''
from crystallize import data_source, pipeline_step


def plain_ds(ctx):
    return [1.0, 2.0]


@pipeline_step()
def stray_step(data):
    return data


@data_source
def numbers(ctx, n=4):
    return [float(i) for i in range(n)]
'''

VERIFIERS = '''
def plain_verifier(baseline, treatment):
    return {"p_value": 1.0, "significant": False}
'''


def _error(folder) -> str:
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    return str(info.value)


@pytest.fixture
def folder(make_folder):
    def make(config: str):
        return make_folder("demo", config, steps=STEPS, datasources=DATASOURCES, verifiers=VERIFIERS)

    return make


def test_plain_function_under_steps_says_to_decorate_it(folder):
    message = _error(folder("datasource: numbers\nsteps:\n  - plain\n  - total\n"))
    assert (
        "config.yaml: steps[0]: 'plain' in steps.py is a plain function, not a step: decorate it "
        "with @pipeline_step() (from crystallize import pipeline_step) (line 3)"
    ) in message


def test_plain_function_as_datasource_says_to_decorate_it(folder):
    message = _error(folder("datasource: {src: plain_ds}\nsteps: [total]\n"))
    assert (
        "datasource.src: 'plain_ds' in datasources.py is a plain function, not a datasource: "
        "decorate it with @data_source (from crystallize import data_source) (line 1)"
    ) in message


def test_plain_function_as_treatment_datasource_says_to_decorate_it(folder):
    config = "datasource: numbers\nsteps: [total]\ntreatments:\n  other: {datasource: plain_ds}\n"
    message = _error(folder(config))
    assert "treatments.other.datasource: 'plain_ds' in datasources.py is a plain function, not a datasource" in message


def test_plain_function_as_verifier_says_to_decorate_it(folder):
    config = """
    datasource: numbers
    steps: [total]
    treatments: {t: {}}
    hypotheses:
      - {name: h, verifier: plain_verifier, metrics: total}
    """
    message = _error(folder(config))
    assert (
        "hypotheses[0].verifier: 'plain_verifier' in verifiers.py is a plain function, not a "
        "verifier: decorate it with @verifier (from crystallize import verifier) (line 6)"
    ) in message


def test_factory_of_another_kind_in_the_same_module(folder):
    message = _error(folder("datasource: numbers\nsteps: [stray_source]\n"))
    assert "steps[0]: 'stray_source' in steps.py is a datasource (@data_source), not a step" in message


def test_factory_of_another_kind_in_a_sibling_module(folder):
    message = _error(folder("datasource: numbers\nsteps: [numbers]\n"))
    assert (
        "steps[0]: no step named 'numbers' in steps.py; 'numbers' in datasources.py is a "
        "datasource (@data_source), not a step (line 2)"
    ) in message


def test_factory_of_the_right_kind_in_the_wrong_module(folder):
    message = _error(folder("datasource: numbers\nsteps: [stray_step]\n"))
    assert (
        "steps[0]: no step named 'stray_step' in steps.py; 'stray_step' in datasources.py is a "
        "step, but steps are looked up in steps.py only: move it there"
    ) in message


def test_class_and_built_step_and_private_name(folder):
    config = "datasource: numbers\nsteps: [Helper, built_total, _hidden]\n"
    message = _error(folder(config))
    assert (
        "steps[0]: 'Helper' in steps.py is a class, not a step: a step is a @pipeline_step() "
        "function or a PipelineStep subclass"
    ) in message
    assert (
        "steps[1]: 'built_total' in steps.py is a step already made (a FunctionStep), not a step "
        "factory: name the factory and give its parameters in config.yaml"
    ) in message
    assert (
        "steps[2]: '_hidden' in steps.py is a step, but names starting with '_' are private "
        "to steps.py and not looked up: rename it"
    ) in message


def test_unknown_names_keep_their_suggestions(folder):
    message = _error(folder("datasource: numbers\nsteps: [totl, zzz]\n"))
    assert "steps[0]: no step named 'totl' in steps.py; did you mean 'total'?" in message
    assert "steps[1]: no step named 'zzz' in steps.py (available steps: total)" in message


def test_cli_run_of_the_example_names_the_undecorated_step(tmp_path, capsys):
    assert main(["new", "study", "--example"]) == 0
    study = tmp_path / "experiments" / "study"
    steps = study / "steps.py"
    steps.write_text(steps.read_text(encoding="utf-8") + "\n\ndef plain(data):\n    return data\n", encoding="utf-8")
    config = study / "config.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("- take_first"))
    lines[index] = "  - plain"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["run", "study", "-n", "2"]) == 2
    err = capsys.readouterr().err
    assert (
        f"steps[0]: 'plain' in steps.py is a plain function, not a step: decorate it with "
        f"@pipeline_step() (from crystallize import pipeline_step) (line {index + 1})"
    ) in err
