"""Attributes a step's code assigns are state, not code: changing them while the run goes
changes neither the code digest nor raises a "Code changed during the run" warning."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid

import pytest

from crystallize import BasePlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.fingerprint import code_hash


class Counter:
    n = 0


class Config:
    scale = 1


@data_source
def draws(ctx):
    return [1.0, 2.0]


@pipeline_step()
def counting(data, ctx):
    Counter.n += 1
    return data, {"n": 1.0}


@pipeline_step()
def scaled(data, ctx):
    return data, {"value": Config.scale * sum(data)}


def test_a_class_attribute_the_step_assigns_is_not_code():
    before = code_hash(counting())
    Counter.n += 5
    assert code_hash(counting()) == before


def test_a_class_attribute_changed_elsewhere_still_counts():
    """``Config.scale = 2`` set by the script (a setting the step reads) changes results."""
    before = code_hash(scaled())
    Config.scale = 2
    try:
        assert code_hash(scaled()) != before
    finally:
        Config.scale = 1
    assert code_hash(scaled()) == before


@pytest.fixture
def module(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def load(text: str):
        name = f"state_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
        importlib.invalidate_caches()
        names.append(name)
        return importlib.import_module(name)

    yield load
    for name in names:
        sys.modules.pop(name, None)


def test_a_module_attribute_the_step_assigns_is_not_code(module):
    helpers = module("calls = 0\nlimit = 3\n")
    namespace = {"helpers": helpers}
    exec(
        "def step(data, ctx):\n"
        "    helpers.calls += 1\n"
        "    return data[: helpers.limit]\n",
        namespace,
    )
    step = namespace["step"]
    before = code_hash(step)
    step([1], None)
    assert code_hash(step) == before
    helpers.limit = 4  # read, never assigned by the step: still covered
    assert code_hash(step) != before


def test_a_run_whose_step_counts_in_a_class_attribute_has_no_code_warning():
    result = Experiment(datasource=draws(), pipeline=Pipeline([counting()]), replicates=3, name="count").run()
    assert not [w for w in result.warnings if "Code changed" in w], result.warnings


class BumpScale(BasePlugin):
    """Changes a value the step reads while the run goes (no source changes)."""

    def before_replicate(self, experiment, ctx):
        Config.scale += 1


def test_the_code_changed_warning_does_not_blame_the_file_when_a_value_changed():
    try:
        result = Experiment(
            datasource=draws(), pipeline=Pipeline([scaled()]), replicates=2, plugins=[BumpScale()], name="bump"
        ).run()
    finally:
        Config.scale = 1
    (warning,) = [w for w in result.warnings if "Code changed" in w]
    assert "on disk differs" not in warning
    assert "steps[0]" in warning and "value" in warning
