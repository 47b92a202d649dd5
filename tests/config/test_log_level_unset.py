"""A folder experiment whose config.yaml does not set ``plugins.logging.log_level`` keeps
the level the user gave the ``crystallize`` logger during its runs, as
``LoggingPlugin()`` does; a level written in config.yaml (or ``-s``) still applies."""

from __future__ import annotations

import logging

import pytest

from crystallize.config import load_experiment
from crystallize.config.schema import LoggingSpec
from crystallize.plugins import LoggingPlugin

STEPS = '''
import logging

from crystallize import pipeline_step


@pipeline_step()
def level(data):
    return data, {"level": logging.getLogger("crystallize").level}
'''

CONFIG = '''
replicates: 1
datasource: {source: constant}
steps: [level]
'''


@pytest.fixture
def users_level():
    """The ``crystallize`` logger set to WARNING by the user (put back afterwards)."""
    logger = logging.getLogger("crystallize")
    saved = logger.level
    logger.setLevel(logging.WARNING)
    yield logging.WARNING
    logger.setLevel(saved)


def _level_during_run(folder) -> int:
    result = load_experiment(folder).run()
    return result.metrics.baseline.metrics["level"][0]


def test_an_unset_log_level_keeps_the_users_level(make_folder, users_level):
    folder = make_folder("quiet", config=CONFIG, steps=STEPS)
    assert _level_during_run(folder) == users_level
    assert logging.getLogger("crystallize").level == users_level


def test_logging_settings_without_log_level_keep_the_users_level(make_folder, users_level):
    folder = make_folder("quiet", config=CONFIG + "plugins:\n  logging: {verbose: false}\n", steps=STEPS)
    assert _level_during_run(folder) == users_level


def test_a_log_level_in_config_yaml_applies(make_folder, users_level):
    folder = make_folder("chatty", config=CONFIG + "plugins:\n  logging: {log_level: info}\n", steps=STEPS)
    assert _level_during_run(folder) == logging.INFO
    assert logging.getLogger("crystallize").level == users_level  # given back after the run


def test_the_unset_level_still_reads_as_info(make_folder):
    assert LoggingSpec().log_level == "INFO"
    plugin = load_experiment(make_folder("quiet", config=CONFIG, steps=STEPS)).get_plugin(LoggingPlugin)
    assert plugin.log_level == "INFO" and type(plugin.log_level) is str


def test_cli_set_log_level_still_applies(make_folder, users_level):
    from crystallize.cli.overrides import RunSettings, apply_settings, parse_assignments

    experiment = load_experiment(make_folder("chatty", config=CONFIG, steps=STEPS))
    apply_settings([experiment], RunSettings(assignments=parse_assignments(["plugins.logging.log_level=DEBUG"])))
    assert experiment.run().metrics.baseline.metrics["level"][0] == logging.DEBUG


def test_cli_set_verbose_alone_keeps_the_users_level(make_folder, users_level):
    from crystallize.cli.overrides import RunSettings, apply_settings, parse_assignments

    experiment = load_experiment(make_folder("quiet", config=CONFIG, steps=STEPS))
    apply_settings([experiment], RunSettings(assignments=parse_assignments(["plugins.logging.verbose=true"])))
    assert experiment.get_plugin(LoggingPlugin).verbose is True
    assert experiment.run().metrics.baseline.metrics["level"][0] == users_level
