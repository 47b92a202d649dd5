"""Where YAML syntax errors point, and the ``--set KEY:`` prefix of plugin setting errors.

PyYAML reports two places: where it noticed the problem and where the construct that
broke (a quoted string, a ``[...]`` list) started. An unclosed quote is only noticed
at the end of the file, so that position alone points at the wrong line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crystallize import Experiment
from crystallize.cli.errors import UserError
from crystallize.cli.overrides import RunSettings, apply_settings, parse_assignments
from crystallize.config import ConfigValidationError
from crystallize.config.yaml_io import parse_yaml

UNCLOSED_QUOTE = """\
# demo: a minimal experiment.
# The format is described in docs/config.md.
name: v_yaml2
description: "A starting point; replace the datasource and the steps with your own.
replicates: 3

datasource: numbers

steps:
  - total

plugins:
  seed: {seed: 0}
"""


def _problem(text: str):
    with pytest.raises(ConfigValidationError) as info:
        parse_yaml(text, Path("config.yaml"))
    (problem,) = info.value.problems
    return problem


def test_unclosed_quote_points_at_the_opening_quote():
    problem = _problem(UNCLOSED_QUOTE)
    assert (problem.line, problem.column) == (4, 14)
    assert problem.message.startswith(
        "line 4, column 14: YAML syntax error: while scanning a quoted scalar starting here, "
        "found unexpected end of stream (line 14, the end of the file)"
    )


def test_unclosed_bracket_at_the_end_points_at_the_bracket():
    problem = _problem("datasource: numbers\nsteps: [total,\n  scale\n\n")
    assert (problem.line, problem.column) == (2, 8)
    assert "line 2, column 8: YAML syntax error: while parsing a flow sequence starting here" in problem.message
    assert "(line 5, the end of the file)" in problem.message


def test_problem_inside_the_file_names_where_the_construct_started():
    text = "name: v\nreplicates: [3\n\ndatasource: numbers\n"
    problem = _problem(text)
    assert (problem.line, problem.column) == (4, 11)
    assert problem.message == (
        "line 4, column 11: YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence starting at line 2, column 13)"
    )


def test_problem_without_a_separate_start_is_unchanged():
    problem = _problem("datasource: numbers\n steps: [total]\n")
    assert problem.message == "line 2, column 7: YAML syntax error: mapping values are not allowed here"


def test_folder_experiment_reports_the_opening_quote(make_folder):
    folder = make_folder("demo", UNCLOSED_QUOTE.replace("datasource: numbers", "datasource: {source: numbers}"))
    with pytest.raises(ConfigValidationError) as info:
        Experiment.from_yaml(folder)
    assert "config.yaml: line 4, column 14: YAML syntax error: while scanning a quoted scalar" in str(info.value)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("plugins.seed.seed=-5", "--set plugins.seed.seed: seed must be a non-negative whole number"),
        ("plugins.seed.auto_seed=maybe", "--set plugins.seed.auto_seed: auto_seed must be true or false"),
        ("seed=-5", "--set seed: seed must be a non-negative whole number"),
        ("plugins.execution.workers=0", "--set plugins.execution.workers: workers must be"),
        ("plugins.execution.strategy=paralel", "--set plugins.execution.strategy: unknown executor"),
        ("plugins.artifacts.versioned=3", "--set plugins.artifacts.versioned: plugins.artifacts.versioned must"),
        ("plugins.logging.log_level=LOUD", "--set plugins.logging.log_level: Unknown log_level 'LOUD'"),
    ],
)
def test_plugin_setting_errors_name_the_set_key(setting, expected):
    experiment = Experiment(name="e")
    with pytest.raises(UserError) as info:
        apply_settings([experiment], RunSettings(assignments=parse_assignments([setting])))
    assert str(info.value).startswith(expected)
