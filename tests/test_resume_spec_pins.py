"""Parts of the experiment resume must notice, pinned where mutation testing found the suite silent.

docs/runs.md: "The fingerprint covers the datasource and every step (names, parameters
and source code), the treatments, the initial context and the seed settings". After a
change to any of them, ``strategy="resume"`` starts a new run and gives the numbers a
fresh run of the changed experiment gives.
"""

from __future__ import annotations

import random

from crystallize import (
    Experiment,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
)


@pipeline_step()
def report(data, ctx):
    return data, {"x": data}


# -- the seed settings: seed_fn -------------------------------------------------------------------


def seed_a(seed):
    random.seed(seed)


def seed_b(seed):
    random.seed(seed + 1000)


@data_source
def uniform(ctx):
    return random.random()


def _seeded(seed_fn):
    return Experiment(
        datasource=uniform(),
        pipeline=Pipeline([report()]),
        plugins=[SeedPlugin(seed=7, seed_fn=seed_fn)],
        replicates=2,
        name="seedfn",
    )


def test_resume_after_changing_seed_fn_starts_a_new_run():
    """A different ``seed_fn`` gives every replicate other numbers: resume must not load
    the records the old one computed."""
    run_b = _seeded(seed_b).run(strategy="rerun")
    fresh_b = run_b.metrics.baseline.metrics["x"]
    old_a = _seeded(seed_a).run(strategy="rerun").metrics.baseline.metrics["x"]
    assert old_a != fresh_b
    resumed = _seeded(seed_b).run(strategy="resume")
    # The later seed_a run is never the one resumed: the seed_b run is (its records were
    # computed with seed_b), or a new run when that cannot be resumed.
    assert resumed.run_id == run_b.run_id or resumed.info["resumed"] == 0
    assert resumed.metrics.baseline.metrics["x"] == fresh_b


# -- the treatments: a reshaping treatment's own datasource ----------------------------------------


@data_source
def level_source(ctx, level=0.0):
    return level


def _reshaped(level):
    return Experiment(
        datasource=level_source(),
        pipeline=Pipeline([report()]),
        treatments=[Treatment("shifted", datasource=level_source(level=level))],
        plugins=[SeedPlugin(seed=1)],
        replicates=2,
        name="reshape",
    )


def test_resume_after_changing_a_treatments_datasource_parameter_starts_a_new_run():
    """A treatment with its own datasource reads other data after that datasource's
    parameter changes: resume must not load the treatment's old records."""
    first = _reshaped(1.0).run()
    assert first.metrics.treatments["shifted"].metrics["x"] == [1.0, 1.0]
    resumed = _reshaped(5.0).run(strategy="resume")
    assert resumed.info["resumed"] == 0
    assert resumed.metrics.treatments["shifted"].metrics["x"] == [5.0, 5.0]
    assert resumed.metrics.baseline.metrics["x"] == [0.0, 0.0]


# -- a class-based step's state kept in __slots__ --------------------------------------------------


@data_source
def ten(ctx):
    return 10.0


class SlotScale(PipelineStep):
    """A cacheable class-based step keeping its setting in ``__slots__``, not ``__dict__``."""

    __slots__ = ("factor",)
    cacheable = True

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, data, ctx):
        return data * self.factor, {"y": data * self.factor}


def _scaled(factor):
    return Experiment(
        datasource=ten(),
        pipeline=Pipeline([SlotScale(factor)]),
        plugins=[SeedPlugin(seed=1)],
        replicates=1,
        name="slots",
    )


def test_a_slot_value_is_part_of_the_step_cache_key():
    """A step's attributes are part of its cache key, slots as much as ``__dict__``: a
    different factor must not replay the output the old factor computed."""
    assert _scaled(2).run().metrics.baseline.metrics["y"] == [20.0]
    second = _scaled(3).run()
    assert second.metrics.baseline.metrics["y"] == [30.0]
    assert second.records[0].steps[0].cache_hit is False


def test_resume_after_changing_a_slot_value_starts_a_new_run():
    """A step's attributes are part of the fingerprint, slots as much as ``__dict__``:
    resume with another factor must not load the old factor's records."""
    _scaled(2).run()
    resumed = _scaled(3).run(strategy="resume")
    assert resumed.info["resumed"] == 0
    assert resumed.metrics.baseline.metrics["y"] == [30.0]
