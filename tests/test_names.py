"""Names a user chooses never carry control characters (terminal escapes, line breaks)."""

from __future__ import annotations

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.exceptions import ExperimentValidationError
from crystallize.store.artifacts import validate_artifact_name
from crystallize.utils.text import control_character


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"v": data}


def test_control_character_names_the_first_one_visibly():
    assert control_character("plain name-1.0 é") is None
    assert control_character("x\x1b]0;HACKED\x07") == "\\x1b"
    assert control_character("line1\nline2") == "\\n"
    assert control_character("del\x7f") == "\\x7f"


@pytest.mark.parametrize("name", ["red\x1b[31m", "two\nlines", "bell\x07"])
def test_a_treatment_name_with_a_control_character_is_refused(name):
    with pytest.raises(ValueError, match="control character"):
        treatment(name, {"x": 1})


def test_an_experiment_name_with_a_control_character_fails_validation():
    experiment = Experiment(datasource=one(), pipeline=Pipeline([keep()]), name="x\x1b]0;HACKED\x07")
    with pytest.raises(ExperimentValidationError, match="control character"):
        experiment.validate()


def test_an_artifact_name_with_a_newline_is_refused():
    with pytest.raises(ValueError, match=r"control character \\n"):
        validate_artifact_name("model\n.pkl")


def test_a_config_name_with_a_control_character_is_a_config_error(tmp_path):
    from crystallize.config.schema import name_problem

    assert name_problem("study") is None
    assert "cannot name an experiment" in name_problem("st\x1budy")
