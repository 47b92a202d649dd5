"""A cache hit takes its output's digest from the cache entry instead of hashing the
output again; entries written without one still load (and are hashed)."""

from __future__ import annotations

import numpy as np
import pytest

import crystallize.replicate as replicate_module
from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.plugins.hookspec import BasePlugin
from crystallize.store import StepCache
from crystallize.utils.hashing import content_hash

BIG = 200_000  # elements: tells the cached step's output apart from the datasource's


@data_source
def ramp(ctx):
    return np.arange(10.0) + ctx["replicate"]


@pipeline_step(cacheable=True)
def widen(data, ctx):
    return np.repeat(data, BIG // 10)


@pipeline_step()
def mean(data, ctx):
    value = float(data.mean())
    return value, {"mean": value}


class Shift(BasePlugin):
    """An after_step hook that changes each step's output in place."""

    def after_step(self, experiment, step, data, ctx):
        if step.name == "widen":
            data += 1.0


def _experiment(*plugins):
    return Experiment(
        datasource=ramp(), pipeline=Pipeline([widen(), mean()]), replicates=2,
        plugins=[SeedPlugin(seed=1), *plugins], name="digest",
    )


@pytest.fixture
def big_hashes(monkeypatch):
    """Counts the digests the replicate runner takes of the cached step's output."""
    counted: list[int] = []

    def counting(obj):
        if getattr(obj, "size", 0) == BIG:
            counted.append(1)
        return content_hash(obj)

    monkeypatch.setattr(replicate_module, "content_hash", counting)
    return counted


def _widen_steps(result):
    return [rec["steps"][0] for rec in result.provenance["baseline"]]


def test_a_hit_reuses_the_stored_digest(big_hashes):
    first = _experiment().run()
    assert len(big_hashes) == 2  # one per replicate, taken when the output is computed
    big_hashes.clear()
    again = _experiment().run()
    assert [step["cache_hit"] for step in _widen_steps(again)] == [True, True]
    assert big_hashes == [], "a hit must not hash the output it loads"
    for rep, (before, after) in enumerate(zip(_widen_steps(first), _widen_steps(again), strict=True)):
        replayed = np.repeat(np.arange(10.0) + rep, BIG // 10)
        assert after["output_hash"] == before["output_hash"] == content_hash(replayed)
    assert again.metrics.baseline.metrics == first.metrics.baseline.metrics


def test_an_entry_without_a_digest_still_loads_and_is_hashed(big_hashes):
    first = _experiment().run()
    cache = StepCache("data")
    entries = [path for path in cache.root.glob("*/*.pkl")]
    stripped = 0
    for path in entries:
        hit, value = cache.get(path.stem)
        if hit and isinstance(value, tuple) and len(value) > 6:
            cache.put(path.stem, value[:6])  # the format before digests were stored
            stripped += 1
    assert stripped == 2
    big_hashes.clear()
    again = _experiment().run()
    assert [step["cache_hit"] for step in _widen_steps(again)] == [True, True]
    assert len(big_hashes) == 2  # hashed, as before
    assert [s["output_hash"] for s in _widen_steps(again)] == [s["output_hash"] for s in _widen_steps(first)]


def test_an_after_step_hook_changing_the_output_is_seen_in_its_digest():
    _experiment(Shift()).run()
    again = _experiment(Shift()).run()
    for rep, step in enumerate(_widen_steps(again)):
        assert step["cache_hit"] is True
        shifted = np.repeat(np.arange(10.0) + rep, BIG // 10) + 1.0
        assert step["output_hash"] == content_hash(shifted)
