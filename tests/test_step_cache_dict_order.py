"""A step parameter's part of the step cache key leaves out the order of the dicts in it,
as the run fingerprint does: ``dict.fromkeys({...})`` (a dict built from a set) has
another order under every ``PYTHONHASHSEED``, so the cached step missed in every new
process while the run itself resumed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.fingerprint import param_digest
from crystallize.step_cache import StepCacheKey


@pipeline_step(cacheable=True)
def pick(data, ctx, *, mapping=None):
    return data, {"n": len(mapping)}


def _part(mapping):
    return StepCacheKey(pick(mapping=mapping)).base["param.mapping"]


def test_the_order_of_a_dict_does_not_change_the_key():
    assert _part({"x": 1, "y": 2}) == _part({"y": 2, "x": 1})
    assert _part([{"b": (1, {"d": 0, "c": 1})}, 2]) == _part([{"b": (1, {"c": 1, "d": 0})}, 2])
    assert _part({1: "a", "b": 2, (1, 2): 3}) == _part({(1, 2): 3, "b": 2, 1: "a"})
    assert _part({"x": 1, "y": 2}) != _part({"x": 1, "y": 3})  # the content still counts


def test_a_dict_in_key_order_keeps_its_digest():
    value = {"a": [1, {"b": 2, "c": 3}], "d": (4,)}
    assert _part(value) == param_digest(value)  # keys stored before the fix still hit


def test_an_ordered_dict_keeps_its_order():  # part of its value, as in the fingerprint
    assert _part(OrderedDict(x=1, y=2)) != _part(OrderedDict(y=2, x=1))


SCRIPT = """
from crystallize import pipeline_step
from crystallize.step_cache import StepCacheKey

@pipeline_step(cacheable=True)
def pick(data, ctx, *, mapping=None):
    return data

print(StepCacheKey(pick(mapping=dict.fromkeys({"w", "x", "y", "z", "v", "u"}))).base["param.mapping"])
"""


def test_a_dict_built_from_a_set_has_the_same_key_under_every_hash_seed():
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


@data_source
def numbers(ctx):
    return [1, 2, 3]


def test_the_step_is_served_from_the_cache_with_the_dict_in_another_order(tmp_path):
    def run(mapping):
        experiment = Experiment(
            datasource=numbers(),
            pipeline=Pipeline([pick(mapping=mapping)]),
            plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path / "data"))],
            name="dict_order",
        )
        result = experiment.run(strategy="rerun")
        assert not result.errors, result.errors
        return result.provenance["baseline"][0]["steps"][-1]

    assert not run({"a": 1, "b": 2})["cache_hit"]
    assert run({"b": 2, "a": 1})["cache_hit"]
