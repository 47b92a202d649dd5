"""A step's code digest covers the module globals it reads, not module globals that
merely share a name with an attribute it reads (``model.C`` is not the global ``C``)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from types import SimpleNamespace

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.code_digest import code_hash
from crystallize.fingerprint import fingerprint, spec_of

_COUNTER = itertools.count()


@pytest.fixture
def load(tmp_path):
    """``load(text)``: import ``text`` as a fresh module from a file in ``tmp_path``."""
    names = []

    def load(text: str):
        name = f"digest_attr_names_{next(_COUNTER)}"
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


ATTRIBUTE = """
C = {c}

def fit(model, ctx):
    return model.C * sum(model.values)
"""


def test_a_global_named_like_an_attribute_the_step_reads_is_not_covered(load):
    first = load(ATTRIBUTE.format(c=1.0)).fit
    assert code_hash(first) == code_hash(load(ATTRIBUTE.format(c=2.0)).fit)


def test_an_attribute_read_in_nested_code_does_not_pull_in_the_global(load):
    text = "C = {c}\n\ndef fit(models, ctx):\n    return [m.C for m in models] + list(map(lambda m: m.C, models))\n"
    assert code_hash(load(text.format(c=1)).fit) == code_hash(load(text.format(c=2)).fit)


def test_a_global_the_step_reads_is_still_covered(load):
    text = "C = {c}\n\ndef fit(model, ctx):\n    return C * model.C\n"
    assert code_hash(load(text.format(c=1)).fit) != code_hash(load(text.format(c=2)).fit)


def test_a_global_read_in_a_class_body_inside_the_step_is_covered(load):
    # A class body reads globals with LOAD_NAME (LOAD_FROM_DICT_OR_GLOBALS in some cases).
    text = "FACTOR = {f}\n\ndef fit(x, ctx):\n    class K:\n        f = FACTOR\n    return x * K.f\n"
    assert code_hash(load(text.format(f=1)).fit) != code_hash(load(text.format(f=2)).fit)


def test_a_module_constant_read_by_attribute_is_still_covered(load):
    helpers = load("C = 1\n")
    steps = load(f"import {helpers.__name__} as helpers\n\ndef fit(x, ctx):\n    return x * helpers.C\n")
    before = code_hash(steps.fit)
    helpers.C = 2
    assert code_hash(steps.fit) != before


def _experiment(module) -> Experiment:
    @data_source
    def source(ctx):
        return SimpleNamespace(C=0.5, values=[1, 2, 3])

    return Experiment(
        datasource=source(),
        pipeline=Pipeline([pipeline_step(cacheable=True)(module.fit)()]),
        plugins=[SeedPlugin(seed=1)],
    )


def test_the_fingerprint_ignores_an_unused_global_named_like_an_attribute(load):
    first = fingerprint(spec_of(_experiment(load(ATTRIBUTE.format(c=1.0)))))
    second = fingerprint(spec_of(_experiment(load(ATTRIBUTE.format(c=3.0)))))
    assert first == second
