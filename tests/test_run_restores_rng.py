"""A run seeds Python's ``random`` and NumPy's global generator for each replicate; when
it ends, however it ends, the caller's generators are as they were when it started
(after the base seed of a ``seed=None`` run was drawn from them), and no NumPy import
hook is left behind."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    RunFailedError,
    SeedPlugin,
    data_source,
    pipeline_step,
)

np = pytest.importorskip("numpy")


@data_source
def zero(ctx):
    return 0.0


@pipeline_step()
def draw(data, ctx):
    return data, {"m": random.random() + float(np.random.rand())}


@pipeline_step()
def fail(data, ctx):
    raise ValueError("boom")


def _experiment(seed, steps=None, name="drawing", replicates=3) -> Experiment:
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline(steps or [draw()]),
        plugins=[SeedPlugin(seed=seed), ArtifactPlugin(root_dir="data")],
        replicates=replicates,
        name=name,
    )


def _next_draws() -> tuple[float, float]:
    return random.random(), float(np.random.rand())


def _draws_after_seeding(seed: int) -> tuple[float, float]:
    random.seed(seed)
    np.random.seed(seed)
    return _next_draws()


def test_a_seeded_run_leaves_the_callers_generators_where_they_were():
    expected = _draws_after_seeding(5)
    random.seed(5)
    np.random.seed(5)
    _experiment(seed=42).run()
    assert _next_draws() == expected


def test_an_unseeded_run_takes_only_its_base_seed_from_the_callers_random():
    random.seed(3)
    random.getrandbits(32)  # the base seed
    expected = random.random()
    random.seed(3)
    result = _experiment(seed=None).run()
    assert random.random() == expected
    random.seed(3)
    assert result.base_seed == random.getrandbits(32)  # random.seed(n) still repeats the run


def test_an_unseeded_run_after_a_seeded_one_gets_a_fresh_base_seed_every_time():
    seeded, unseeded = _experiment(seed=42, name="seeded"), _experiment(seed=None, name="unseeded")
    base_seeds, metrics = [], []
    for _ in range(3):
        seeded.run()
        result = unseeded.run()
        base_seeds.append(result.base_seed)
        metrics.append(result.metrics.baseline.metrics["m"])
    assert len(set(base_seeds)) == 3
    assert metrics[0] != metrics[1] != metrics[2]


@data_source
def one(ctx):
    return 1.0


@pipeline_step()
def keep(data, ctx):
    return data, {"x": data + random.random()}


@pipeline_step()
def draw_after_inner_run(data, ctx):
    Experiment(
        datasource=one(),
        pipeline=Pipeline([keep()]),
        plugins=[SeedPlugin(seed=5), ArtifactPlugin(root_dir=None)],
        replicates=2,
        name="inner",
    ).run()
    return data, {"after": random.random(), "np_after": float(np.random.rand())}


@pipeline_step()
def draw_only(data, ctx):
    return data, {"after": random.random(), "np_after": float(np.random.rand())}


def test_a_nested_run_leaves_the_outer_replicates_draws_alone():
    nested = _experiment(seed=7, steps=[draw_after_inner_run()], name="outer", replicates=4).run()
    alone = _experiment(seed=7, steps=[draw_only()], name="outer_alone", replicates=4).run()
    assert not nested.errors
    drawn = nested.metrics.baseline.metrics
    assert drawn == alone.metrics.baseline.metrics  # as if the inner run had not happened
    assert len(set(drawn["after"])) == 4  # replicates stay independent


def test_the_callers_generators_are_restored_when_the_run_fails():
    expected = _draws_after_seeding(8)
    random.seed(8)
    np.random.seed(8)
    with pytest.raises(RunFailedError):
        _experiment(seed=1, steps=[draw(), fail()]).run(fail_fast=True)
    assert _next_draws() == expected


def test_the_callers_generators_are_restored_when_a_stream_is_left_early():
    expected = _draws_after_seeding(9)
    random.seed(9)
    np.random.seed(9)
    stream = _experiment(seed=1, replicates=4).stream()
    for _ in stream:
        break
    assert _next_draws() == expected


def test_a_run_leaves_no_numpy_import_hook_behind(tmp_path):
    """The hook that seeds NumPy when imported must not outlive the run: a later import
    would start NumPy from the last replicate's seed."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            """
            import json, random, sys
            from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step

            @data_source
            def source(ctx):
                return random.random()

            @pipeline_step()
            def score(data, ctx):
                return data, {"x": data}

            result = Experiment(
                datasource=source(), pipeline=Pipeline([score()]), plugins=[SeedPlugin(seed=1)],
                replicates=2,
            ).run()
            hook_left = any(type(f).__name__ == "_SeedOnImport" for f in sys.meta_path)
            import numpy
            print(json.dumps({"hook_left": hook_left, "last_seed": result.records[-1].seed,
                              "x": float(numpy.random.rand())}))
            """
        )],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["hook_left"] is False
    assert got["x"] != float(np.random.RandomState(got["last_seed"]).rand())
