"""Behaviour the engine must keep, pinned where mutation testing found the suite silent.

Each test guards one piece of trust-critical logic (seeding, the replicate runner, the
step cache key, the spec fingerprint used by resume, result grouping) through the public
API, asserting what API.md and docs/*.md promise rather than how the code does it.
"""

from __future__ import annotations

import random
import threading

from crystallize import (
    BasePlugin,
    Experiment,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
)

# -- shared building blocks ---------------------------------------------------------------


@data_source
def one(ctx):
    return 1


@data_source
def uniform(ctx):
    return random.random()


@pipeline_step()
def add(data, ctx, *, k=1):
    return data + k


@pipeline_step(cacheable=True)
def doubled(data, ctx):
    return data * 2


@pipeline_step()
def report(data, ctx):
    return data, {"value": data}


def _experiment(name, datasource=None, steps=None, **kwargs):
    kwargs.setdefault("plugins", [SeedPlugin(seed=7)])
    return Experiment(
        datasource=datasource if datasource is not None else one(),
        pipeline=Pipeline(steps if steps is not None else [report()]),
        name=name,
        **kwargs,
    )


# -- seeding --------------------------------------------------------------------------------


def _draw_lr(ctx):
    ctx.add("lr", random.random())


@pipeline_step()
def record_lr(data, ctx):
    return data, {"lr": ctx["lr"]}


def test_treatment_functions_are_seeded_by_their_treatment_name():
    """A treatment given as a function is seeded "from the replicate's seed and the
    treatment's name" (docs/plugins.md): two such treatments drawing in the same
    replicate must not get the same random numbers."""
    result = _experiment(
        "tfn",
        steps=[record_lr()],
        treatments=[Treatment("a", _draw_lr), Treatment("b", _draw_lr)],
        replicates=2,
    ).run()
    a = result.metrics.treatments["a"].metrics["lr"]
    b = result.metrics.treatments["b"].metrics["lr"]
    assert len(a) == len(b) == 2
    assert a[0] != b[0] and a[1] != b[1]


class DrawingPlugin(BasePlugin):
    """A plugin whose before_replicate draws from Python's global generator."""

    def before_replicate(self, experiment, ctx):
        random.random()


def test_seed_plugin_seeds_after_every_other_before_replicate_hook():
    """docs/plugins.md: "The SeedPlugin's before_replicate always runs after every other
    plugin's, so nothing draws from the random number generators between seeding and
    your datasource": a plugin drawing in before_replicate, listed before
    or after the SeedPlugin, leaves the datasource's numbers unchanged."""

    def values(plugins):
        experiment = _experiment("order", datasource=uniform(), plugins=plugins, replicates=2)
        return experiment.run().metrics.baseline.metrics["value"]

    alone = values([SeedPlugin(seed=11)])
    assert values([SeedPlugin(seed=11), DrawingPlugin()]) == alone
    assert values([DrawingPlugin(), SeedPlugin(seed=11)]) == alone


# -- the replicate runner ------------------------------------------------------------------


@data_source
def labelled_text(ctx):
    return ("some text", {"label": 1})


@pipeline_step()
def passthrough(data, ctx):
    return data


@pipeline_step()
def label_of(data, ctx):
    return data, {"label_seen": data[1]["label"]}


def test_a_pair_passed_through_unchanged_stays_data():
    """docs/getting-started.md: a ``(data, dict)`` pair "is read that way, unless it is
    the very object the step received (a datasource's ``(text, {"label": 1})`` passed
    through unchanged stays data)"."""
    experiment = _experiment("pairs", datasource=labelled_text(), steps=[passthrough(), label_of()])
    result = experiment.run()
    assert result.errors == []
    assert result.metrics.baseline.metrics == {"label_seen": [1]}
    assert experiment.apply() == ("some text", {"label": 1})


def test_a_cached_step_after_a_changed_step_sees_the_new_input():
    """The cache key holds "the content hash of its input" (docs/runs.md): after an
    uncached step whose parameter changed, a cacheable step must not replay the output
    it computed from the old input (int data, which the runner hashes specially)."""
    first = _experiment("chain", steps=[add(k=1), doubled(), report()]).run()
    assert first.metrics.baseline.metrics["value"] == [4]
    second = _experiment("chain", steps=[add(k=2), doubled(), report()]).run()
    assert second.metrics.baseline.metrics["value"] == [6]
    steps = second.provenance["baseline"][0]["steps"]
    assert steps[1]["cache_hit"] is False


def test_provenance_chains_input_and_output_hashes():
    """Provenance records each step's input and output hashes (API.md section 4): a
    step's input is the previous step's output, and a step that changes its data
    reports an output hash different from its input hash."""
    result = _experiment("hashes", steps=[add(k=1), add(k=5), report()]).run()
    steps = result.provenance["baseline"][0]["steps"]
    assert steps[0]["input_hash"] != steps[0]["output_hash"]
    assert steps[1]["input_hash"] == steps[0]["output_hash"]
    assert steps[1]["input_hash"] != steps[1]["output_hash"]
    assert steps[2]["input_hash"] == steps[1]["output_hash"]
    # report passes its (immutable) input on unchanged
    assert steps[2]["output_hash"] == steps[2]["input_hash"]


@pipeline_step()
def noting(data, ctx):
    ctx.add("note", "hello")
    return data


def test_provenance_lists_the_context_keys_a_step_adds():
    """A step's provenance names the context keys it added (``ctx_writes``), so a
    later reader can tell where a value came from."""
    result = _experiment("writes", steps=[noting(), report()]).run()
    steps = result.provenance["baseline"][0]["steps"]
    assert steps[0]["ctx_writes"] == ["note"]
    assert steps[1]["ctx_writes"] == []


# -- fingerprint / resume --------------------------------------------------------------------


def test_resume_with_other_auto_seed_starts_a_new_run():
    """The fingerprint covers "the seed settings" (docs/runs.md): resuming after
    switching auto_seed must not reuse records computed with the other seeds."""
    _experiment("autoseed", plugins=[SeedPlugin(seed=5)], replicates=2).run()
    result = _experiment(
        "autoseed", plugins=[SeedPlugin(seed=5, auto_seed=False)], replicates=2
    ).run(strategy="resume")
    assert result.info["resumed"] == 0
    assert [r.seed for r in result.records] == [5, 5]


@pipeline_step()
def triple(data, ctx):
    return data * 3


@pipeline_step()
def quadruple(data, ctx):
    return data * 4


def test_resume_after_changing_a_treatments_own_steps_starts_a_new_run():
    """The fingerprint covers the treatments (docs/runs.md): a treatment that replaces
    a step runs other code after the change, so resume must not load its old records."""

    def experiment(step):
        return _experiment(
            "reshape",
            steps=[triple(), report()],
            treatments=[Treatment("t", steps={"triple": step})],
        )

    experiment(triple()).run()
    result = experiment(quadruple()).run(strategy="resume")
    assert result.info["resumed"] == 0
    assert result.metrics.treatments["t"].metrics["value"] == [4]


class Locked(PipelineStep):
    """A class-based step holding an attribute that cannot be digested (a lock)."""

    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, data, ctx):
        return data


def test_an_undigestable_step_attribute_makes_resume_start_a_new_run():
    """docs/runs.md: "A value that cannot be pickled (a lock, an open file) makes the run
    impossible to resume": a class-based step holding a lock is never taken for the
    same experiment as an earlier run."""
    _experiment("locked", steps=[Locked(), report()]).run()
    result = _experiment("locked", steps=[Locked(), report()]).run(strategy="resume")
    assert result.info["resumed"] == 0
    assert result.info["computed"] == 1


# -- code digest ----------------------------------------------------------------------------

DEFAULT_POWER = 2


def _power(x, power=DEFAULT_POWER):
    return x**power


@pipeline_step(cacheable=True)
def powered(data, ctx):
    return _power(data)


def test_a_helpers_default_value_is_part_of_the_cache_key():
    """docs/runs.md: the code part of the key covers "the values of the constants they
    read (... default values such as ``power=DEFAULT_POWER``...)". Changing a helper's
    default (as editing ``DEFAULT_POWER`` and rerunning does) must not replay the output
    computed with the old default."""
    first = _experiment("defaults", datasource=one(), steps=[add(k=1), powered(), report()]).run()
    assert first.metrics.baseline.metrics["value"] == [4]
    _power.__defaults__ = (3,)
    try:
        second = _experiment(
            "defaults", datasource=one(), steps=[add(k=1), powered(), report()]
        ).run()
    finally:
        _power.__defaults__ = (DEFAULT_POWER,)
    assert second.metrics.baseline.metrics["value"] == [8]
    assert second.provenance["baseline"][0]["steps"][1]["cache_hit"] is False


# -- worker death on resume -------------------------------------------------------------------


@pipeline_step()
def fails_then_dies(data, ctx, *, marker):
    """Fails treatment 'up' replicate 0 with an exception, and the next time ends the
    worker process running it."""
    import os
    from pathlib import Path

    if ctx["condition"] == "up" and ctx["replicate"] == 0:
        if Path(marker).exists():
            os._exit(3)
        Path(marker).write_text("failed once")
        raise RuntimeError("first attempt fails")
    return data, {"value": data}


def test_a_worker_dying_on_resume_fails_only_the_pending_condition(tmp_path):
    """When a worker dies while resuming a replicate, only the conditions that replicate
    still had to run are marked failed: the already-stored baseline record stays the only
    one, and no "records that were not pending" warning is raised."""
    from crystallize import ParallelExecution, treatment

    def experiment():
        return _experiment(
            "dies",
            steps=[fails_then_dies(marker=str(tmp_path / "marker"))],
            plugins=[SeedPlugin(seed=1), ParallelExecution(max_workers=1, executor_type="process")],
            treatments=[treatment("up", {"x": 1})],
            replicates=2,
        )

    experiment().run()
    result = experiment().run(strategy="resume")
    assert result.info["resumed"] == 3
    assert [(e.condition, e.replicate) for e in result.errors] == [("up", 0)]
    assert result.metrics.baseline.metrics["value"] == [1, 1]
    assert not [w for w in result.warnings if "not pending" in w]


class _ScaleBase(PipelineStep):
    """A user base class holding the constant its subclasses' steps use."""

    cacheable = True
    factor = 2

    def __call__(self, data, ctx):
        return data * self.factor


class ScaleStep(_ScaleBase):
    """A class-based step whose behaviour lives in its (user) base class."""


def test_a_user_base_class_is_part_of_a_class_steps_code():
    """docs/runs.md: the code part of the key follows "your code it uses ...: helper
    functions and classes ..., and the values of the constants they read": a constant of
    a class-based step's own base class changing (an edit to the base) must not replay
    the output the old base computed."""
    first = _experiment("bases", steps=[add(k=1), ScaleStep(), report()]).run()
    assert first.metrics.baseline.metrics["value"] == [4]
    _ScaleBase.factor = 3
    try:
        second = _experiment("bases", steps=[add(k=1), ScaleStep(), report()]).run()
    finally:
        _ScaleBase.factor = 2
    assert second.metrics.baseline.metrics["value"] == [6]
    assert second.provenance["baseline"][0]["steps"][1]["cache_hit"] is False


@pipeline_step()
def fails_once(data, ctx, *, marker):
    """Fails replicate 1 the first time it runs, then succeeds."""
    from pathlib import Path

    if ctx["replicate"] == 1 and not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise RuntimeError("first attempt fails")
    return data, {"value": data}


def test_resume_without_a_fixed_seed_keeps_the_runs_seeds(tmp_path):
    """docs/runs.md: on resume "missing or failed ones run (with the same seeds they
    would have had)": with ``SeedPlugin(seed=None)`` the resumed run keeps the base seed
    drawn by the first run, so replicate ``r`` still gets ``(base + r * 31337) % 2**32``."""

    def experiment():
        return _experiment(
            "unseeded",
            steps=[fails_once(marker=str(tmp_path / "marker"))],
            plugins=[SeedPlugin()],
            replicates=2,
        )

    first = experiment().run()
    assert [e.replicate for e in first.errors] == [1]
    base = first.base_seed
    resumed = experiment().run(strategy="resume")
    assert resumed.info["resumed"] == 1 and resumed.errors == []
    assert resumed.base_seed == base
    assert resumed.metrics.baseline.seeds == [base, (base + 31337) % 2**32]
