"""``--set plugins.*`` booleans given as yes/no/on/off (strings by YAML 1.2) are refused
with a hint to write true or false, never taken as a truthy string."""

from __future__ import annotations

import pytest

from crystallize.cli.errors import UserError
from crystallize.cli.overrides import RunSettings, apply_settings, parse_assignments
from crystallize.config import load_experiment
from crystallize.plugins import ArtifactPlugin, LoggingPlugin, SeedPlugin

HINT = "(YAML 1.2 reads yes/no/on/off as strings: write true or false)"


@pytest.fixture
def experiment(make_experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return load_experiment(make_experiment("flags"))


def _set(experiment, assignment: str) -> None:
    apply_settings([experiment], RunSettings(assignments=parse_assignments([assignment])))


@pytest.mark.parametrize(
    ("assignment", "name", "word"),
    [
        ("plugins.artifacts.versioned=yes", "plugins.artifacts.versioned", "yes"),
        ("plugins.seed.auto_seed=off", "auto_seed", "off"),
        ("plugins.logging.verbose=no", "plugins.logging.verbose", "no"),
        ("plugins.logging.verbose=On", "plugins.logging.verbose", "On"),
    ],
)
def test_yaml11_boolean_words_are_refused_with_a_hint(experiment, assignment, name, word):
    with pytest.raises(UserError) as info:
        _set(experiment, assignment)
    assert f"{name} must be true or false, got '{word}' {HINT}." in str(info.value)


def test_other_non_booleans_are_refused_without_the_hint(experiment):
    with pytest.raises(UserError) as info:
        _set(experiment, "plugins.artifacts.versioned=1")
    assert str(info.value).endswith("plugins.artifacts.versioned must be true or false, got 1.")
    with pytest.raises(UserError, match="plugins.logging.verbose must be true or false, got 'maybe'.$"):
        _set(experiment, "plugins.logging.verbose=maybe")


def test_true_and_false_still_apply(experiment):
    _set(experiment, "plugins.logging.verbose=true")
    _set(experiment, "plugins.artifacts.versioned=true")
    _set(experiment, "plugins.seed.auto_seed=false")
    assert experiment.get_plugin(LoggingPlugin).verbose is True
    assert experiment.get_plugin(ArtifactPlugin).versioned is True
    assert experiment.get_plugin(SeedPlugin).auto_seed is False
    _set(experiment, "plugins.logging.verbose=false")
    assert experiment.get_plugin(LoggingPlugin).verbose is False
