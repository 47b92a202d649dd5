"""Cacheable steps: hits skip the call, keys change with code, params, inputs, reads."""

from __future__ import annotations

import logging
import random
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    LoggingPlugin,
    Pipeline,
    PipelineStep,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    treatment,
)

CALLS: list[str] = []


@data_source
def numbers(ctx, start=0):
    return [start, start + 1, start + 2]


@pipeline_step(cacheable=True)
def expensive(data, ctx, *, scale=1):
    CALLS.append("expensive")
    ctx.metrics.add("cost", 1)
    ctx.add("note", "computed")
    return [x * scale for x in data]


@pipeline_step()
def total(data, ctx):
    return data, {"total": sum(data), "note": ctx["note"]}


def build(**kwargs):
    kwargs.setdefault("datasource", numbers())
    kwargs.setdefault("pipeline", Pipeline([expensive(), total()]))
    return Experiment(plugins=[SeedPlugin(seed=3)], name="cached", replicates=2, **kwargs)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


def test_second_run_hits_and_replays_metrics_and_context():
    first = build().run()
    assert len(CALLS) == 2
    second = build().run()
    assert len(CALLS) == 2, "cache hits must skip the call"
    assert second.metrics.baseline.metrics == first.metrics.baseline.metrics
    assert second.metrics.baseline.metrics["cost"] == [1, 1]
    steps = second.provenance["baseline"][0]["steps"]
    assert steps[0]["cache_hit"] is True and steps[1]["cache_hit"] is False
    assert first.provenance["baseline"][0]["steps"][0]["cache_miss_reason"] == "no earlier cache entry for this step"


def test_param_change_misses_and_explains():
    build().run()
    result = build(pipeline=Pipeline([expensive(scale=3), total()])).run()
    assert len(CALLS) == 4
    reason = result.provenance["baseline"][0]["steps"][0]["cache_miss_reason"]
    assert reason == "changed since the closest entry: param.scale"


def test_injected_context_value_is_part_of_the_key():
    build().run()
    result = build(treatments=[treatment("x2", {"scale": 2})]).run()
    # baseline hits (same reads); the treatment reads scale=2 and misses
    assert len(CALLS) == 4
    steps = result.provenance["x2"][0]["steps"]
    assert steps[0]["cache_hit"] is False and "ctx.scale" in steps[0]["cache_miss_reason"]
    assert result.provenance["baseline"][0]["steps"][0]["cache_hit"] is True


def test_identical_conditions_share_the_cached_output():
    result = build(treatments=[treatment("same", {"unrelated": 1})]).run()
    assert len(CALLS) == 2  # computed once per replicate, reused by the other condition
    assert result.provenance["same"][0]["steps"][0]["cache_hit"] is True


@pipeline_step(cacheable=True)
def summarize_to_file(data, *, report: Artifact = Artifact("report.txt")):
    CALLS.append("summarize_to_file")
    report.write(f"sum={sum(data)}")
    return data


def test_a_step_writing_an_artifact_is_shared_by_conditions_too(tmp_path):
    experiment = Experiment(
        datasource=numbers(), pipeline=Pipeline([summarize_to_file()]), replicates=1, name="shared_files",
        treatments=[treatment("same", {"unrelated": 1})],
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))],
    )
    result = experiment.run()
    assert CALLS == ["summarize_to_file"]  # binding the artifact is no context read
    assert result.provenance["same"][0]["steps"][0]["cache_hit"] is True
    for condition in ("baseline", "same"):  # the hit wrote the file into its own folder
        assert (tmp_path / "shared_files" / "v0" / condition / "0" / "report.txt").read_text() == "sum=3"


def test_input_change_misses():
    build().run()
    result = build(datasource=numbers(start=10)).run()
    assert len(CALLS) == 4
    assert "input" in result.provenance["baseline"][0]["steps"][0]["cache_miss_reason"]


def test_corrupted_cache_entry_is_recomputed(caplog):
    build().run()
    entries = list(Path("data", ".cache").rglob("*.pkl"))
    assert len(entries) == 3  # two outputs, and the context keys the step was seen reading
    for entry in entries:
        raw = entry.read_bytes()
        entry.write_bytes(raw[:-5] + b"XXXXX")
    caplog.set_level(logging.WARNING, logger="crystallize.cache")
    result = build().run()
    assert len(CALLS) == 4
    assert result.metrics.baseline.metrics["total"] == [3, 3]
    assert any("corrupt" in r.getMessage().lower() or "mismatch" in r.getMessage().lower()
               or "discard" in r.getMessage().lower() for r in caplog.records)


def test_code_change_misses(tmp_path, monkeypatch):
    module = tmp_path / "cached_steps.py"
    source = textwrap.dedent(
        """
        from crystallize import pipeline_step
        RUNS = []

        @pipeline_step(cacheable=True)
        def work(data, ctx):
            RUNS.append(1)
            return data, {"out": data * FACTOR}

        FACTOR = {factor}
        """
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def load(factor, body_suffix=""):
        module.write_text(source.replace("{factor}", str(factor)) + body_suffix)
        sys.modules.pop("cached_steps", None)
        import cached_steps

        return cached_steps

    first = load(2)
    build(pipeline=Pipeline([first.work()])).run()
    assert len(first.RUNS) == 2
    same = load(2)
    build(pipeline=Pipeline([same.work()])).run()
    assert len(same.RUNS) == 0  # unchanged code: cache hit
    edited = textwrap.dedent(
        """
        from crystallize import pipeline_step
        RUNS = []

        @pipeline_step(cacheable=True)
        def work(data, ctx):
            RUNS.append(1)
            return data, {"out": data * 3}
        """
    )
    module.write_text(edited)
    sys.modules.pop("cached_steps", None)
    import cached_steps

    result = build(pipeline=Pipeline([cached_steps.work()])).run()
    assert len(cached_steps.RUNS) == 2
    assert "code" in result.provenance["baseline"][0]["steps"][0]["cache_miss_reason"]
    sys.modules.pop("cached_steps", None)


def test_cache_hits_are_logged_when_verbose(caplog):
    build().run()
    caplog.set_level(logging.INFO, logger="crystallize")
    Experiment(
        datasource=numbers(), pipeline=Pipeline([expensive(), total()]), name="cached", replicates=2,
        plugins=[SeedPlugin(seed=3), LoggingPlugin(verbose=True)],
    ).run()
    messages = [r.getMessage() for r in caplog.records]
    assert any("(cache hit)" in m for m in messages)
    assert any("2 cache hit(s)" in m for m in messages)


@pipeline_step(cacheable=True)
def noisy_features(data, ctx):
    import numpy as np

    return [x + random.random() + float(np.random.random()) for x in data]


@pipeline_step()
def evaluate(data, ctx):
    import numpy as np

    return data, {"noise": random.random(), "np_noise": float(np.random.random()), "feat": sum(data)}


def test_a_cache_hit_leaves_the_random_generators_as_computing_would():
    def run(*treatments):
        return Experiment(
            datasource=numbers(), pipeline=Pipeline([noisy_features(), evaluate()]), replicates=3,
            plugins=[SeedPlugin(seed=1), LoggingPlugin(verbose=False)], treatments=list(treatments), name="rng",
        ).run()

    computed = run()
    assert not any(s["cache_hit"] for s in computed.provenance["baseline"][0]["steps"])
    replayed = run(treatment("same", {}))  # every step of both conditions now hits the cache
    assert all(r.steps[0].cache_hit for r in replayed.records)
    expected = computed.metrics.baseline.metrics
    assert replayed.metrics.baseline.metrics == expected
    assert replayed.metrics.treatments["same"].metrics == expected  # no false difference


# -- context values read directly (ctx[...], ctx.get, in), not injected ---------------
@pipeline_step(cacheable=True)
def reads_directly(data, ctx):
    CALLS.append("reads_directly")
    factor = ctx.get("factor", 1)
    if "offset" in ctx:
        factor += ctx["offset"]
    return [x * factor for x in data]


def direct(**kwargs):
    return build(pipeline=Pipeline([reads_directly(), total_only()]), **kwargs)


@pipeline_step()
def total_only(data, ctx):
    return data, {"total": sum(data)}


def test_a_treatment_changing_a_value_read_directly_is_not_served_the_baseline_output():
    result = direct(treatments=[treatment("x5", {"factor": 5}), treatment("shifted", {"offset": 2})]).run()
    assert result.metrics.baseline.metrics["total"] == [3, 3]
    assert result.metrics.treatments["x5"].metrics["total"] == [15, 15]
    assert result.metrics.treatments["shifted"].metrics["total"] == [9, 9]
    reason = result.provenance["x5"][0]["steps"][0]["cache_miss_reason"]
    assert "ctx.factor" in reason


def test_a_value_read_directly_changing_between_runs_misses_and_equal_values_hit():
    direct(initial_ctx={"factor": 2}).run()
    assert len(CALLS) == 2
    changed = direct(initial_ctx={"factor": 5}).run()
    assert changed.metrics.baseline.metrics["total"] == [15, 15] and len(CALLS) == 4
    again = direct(initial_ctx={"factor": 5}).run()
    assert again.metrics.baseline.metrics["total"] == [15, 15] and len(CALLS) == 4
    assert again.provenance["baseline"][0]["steps"][0]["cache_hit"] is True


def test_keys_a_step_adds_itself_do_not_stop_it_hitting():
    build().run()  # `expensive` adds "note"; reading it back later must not matter
    build().run()
    assert len(CALLS) == 2


def _connect(ctx):
    return object()  # stands for a live client: never hashed itself


@pipeline_step(cacheable=True)
def uses_client(data, ctx):
    CALLS.append("uses_client")
    assert ctx["client"] is not None
    return data


def test_a_resource_read_directly_is_keyed_by_its_factory_not_the_live_object():
    from crystallize import resource_factory

    def make():
        return build(pipeline=Pipeline([uses_client(), total_only()]), initial_ctx={"client": resource_factory(_connect, key="client")})

    make().run()
    second = make().run()
    assert len(CALLS) == 2 and second.provenance["baseline"][0]["steps"][0]["cache_hit"] is True


@pipeline_step(cacheable=True)
def halves_then_reads(data, ctx):
    CALLS.append("halves")
    ctx.override(rate=ctx["rate"] / 2)
    return [x * ctx["rate"] for x in data]


def test_a_step_overriding_a_value_is_keyed_by_the_value_it_started_from():
    def run(rate):
        return build(pipeline=Pipeline([halves_then_reads(), total_only()]), initial_ctx={"rate": rate}).run()

    assert run(4.0).metrics.baseline.metrics["total"] == [6.0, 6.0]   # computed with rate 2
    # rate 2.0 going in is a different computation (rate 1 inside), not the entry above
    assert run(2.0).metrics.baseline.metrics["total"] == [3.0, 3.0]
    assert run(4.0).metrics.baseline.metrics["total"] == [6.0, 6.0] and len(CALLS) == 4


# -- what a hit must reproduce, and when it must not happen ---------------------------
@pipeline_step(cacheable=True)
def threshold_if_missing(data, ctx):
    CALLS.append("threshold")
    if "threshold" not in ctx:
        ctx.add("threshold", 1.5)
    return [x > ctx["threshold"] for x in data]


@pipeline_step()
def positives(flags, ctx):
    return flags, {"positives": sum(flags), "threshold": ctx["threshold"]}


def test_a_value_the_step_adds_only_when_missing_keys_the_entry():
    result = build(
        pipeline=Pipeline([threshold_if_missing(), positives()]), treatments=[treatment("strict", {"threshold": 0.5})]
    ).run()
    assert result.metrics.baseline.metrics == {"positives": [1, 1], "threshold": [1.5, 1.5]}
    assert result.metrics.treatments["strict"].metrics == {"positives": [2, 2], "threshold": [0.5, 0.5]}


@pipeline_step()
def draws(data, ctx, *, n_draws=1):
    for _ in range(n_draws):
        random.random()
    return data


@pipeline_step(cacheable=True)
def deterministic(data, ctx):
    CALLS.append("deterministic")
    return list(data)


@pipeline_step()
def draws_after(data, ctx):
    return data, {"after": random.random()}


def test_a_hit_never_hands_over_another_conditions_random_state():
    def run(cache):
        step = deterministic()
        step.cacheable = cache
        return build(
            pipeline=Pipeline([draws(), step, draws_after()]), treatments=[treatment("more", {"n_draws": 3})]
        ).run()

    fresh = run(cache=False)
    cached = run(cache=True)
    for condition in ("baseline", "more"):
        assert cached.metrics.condition(condition).metrics == fresh.metrics.condition(condition).metrics


@pipeline_step()
def early_metric(data, ctx, *, level=1.0):
    ctx.metrics.add("level", level)
    return data


@pipeline_step(cacheable=True)
def reads_metrics(data, ctx):
    CALLS.append("reads_metrics")
    return data, {"calibrated": ctx.metrics["level"][-1] * 10}


def test_a_step_reading_earlier_metrics_is_keyed_by_them():
    result = build(
        pipeline=Pipeline([early_metric(), reads_metrics()]), treatments=[treatment("high", {"level": 2.0})]
    ).run()
    assert result.metrics.baseline.metrics["calibrated"] == [10.0, 10.0]
    assert result.metrics.treatments["high"].metrics["calibrated"] == [20.0, 20.0]


@pipeline_step(cacheable=True)
def rich_effects(data, ctx):
    CALLS.append("rich")
    ctx.override(scale=ctx["scale"] * 2)
    ctx.record("norm", sum(data), tags={"split": "val"})
    ctx.emit("normalized", n=len(data))
    return data


@pipeline_step()
def after_rich(data, ctx):
    return data, {"scaled": ctx["scale"] * 3}


def test_a_hit_replays_overrides_tags_and_events():
    def run():
        return build(pipeline=Pipeline([rich_effects(), after_rich()]), initial_ctx={"scale": 2}).run()

    first, second = run(), run()
    assert len(CALLS) == 2, "the second run hits"
    assert second.metrics.baseline.metrics == first.metrics.baseline.metrics == {"norm": [3, 3], "scaled": [12, 12]}
    for a, b in zip(first.records, second.records, strict=True):
        assert b.metric_tags == a.metric_tags and a.metric_tags["norm"] == [{"split": "val"}]
        assert b.events == a.events and a.events


def _connection(ctx):
    import threading

    return threading.Lock()  # like a live client: cannot be pickled, so cannot be hashed


@pipeline_step(cacheable=True)
def queries(data, ctx, *, db):
    CALLS.append("queries")
    return data


def test_an_injected_resource_is_keyed_by_its_factory():
    from crystallize import resource_factory

    def run():
        return build(pipeline=Pipeline([queries(), total_only()]), initial_ctx={"db": resource_factory(_connection, key="db")}).run()

    run()
    second = run()
    assert len(CALLS) == 2 and second.provenance["baseline"][0]["steps"][0]["cache_hit"] is True


@pipeline_step(cacheable=True)
def configured(data, ctx, *, cfg):
    CALLS.append("configured")
    return [cfg["transform"](x) * cfg["weights"][-1] for x in data]


def test_parameters_holding_functions_are_keyed_by_their_values_and_code():
    def run(weight):
        step = configured(cfg={"transform": lambda x: x + 1, "weights": [0.5] * 40 + [weight]})
        return build(pipeline=Pipeline([step, total_only()])).run()

    assert run(1.0).metrics.baseline.metrics["total"] == [6.0, 6.0]
    assert run(99.0).metrics.baseline.metrics["total"] == [594.0, 594.0]  # was a stale hit
    assert run(99.0).provenance["baseline"][0]["steps"][0]["cache_hit"] is True


@pipeline_step(cacheable=True)
def locked(data, ctx, *, guard):
    CALLS.append("locked")
    return data


def test_a_parameter_that_cannot_be_hashed_is_not_cached_and_says_why():
    import threading

    with pytest.warns(UserWarning, match=r"params\.guard holds a _thread\.lock .* will not be resumed"):
        result = build(pipeline=Pipeline([locked(guard=threading.Lock()), total_only()])).run()
    step = result.provenance["baseline"][0]["steps"][0]
    assert step["cache_hit"] is False and step["cache_miss_reason"] == "parameter 'guard' cannot be hashed; step not cached"


class Scale(PipelineStep):
    """A class-based step keeping its setting as an attribute (not in ``params``)."""

    cacheable = True

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, data, ctx):
        CALLS.append("scale")
        return data, {"out": float(data[0] * self.factor)}


class Lock(PipelineStep):
    cacheable = True

    def __init__(self):
        import threading

        self.lock = threading.Lock()

    def __call__(self, data, ctx):
        return data


def test_class_based_steps_are_keyed_by_their_attributes():
    assert build(pipeline=Pipeline([Scale(2)])).run().metrics.baseline.metrics["out"] == [0.0, 0.0]
    third = build(datasource=numbers(start=1), pipeline=Pipeline([Scale(2)])).run()
    assert third.metrics.baseline.metrics["out"] == [2.0, 2.0]
    other = build(datasource=numbers(start=1), pipeline=Pipeline([Scale(3)])).run()
    assert other.metrics.baseline.metrics["out"] == [3.0, 3.0]  # was the Scale(2) entry
    again = build(datasource=numbers(start=1), pipeline=Pipeline([Scale(3)])).run()
    assert again.provenance["baseline"][0]["steps"][0]["cache_hit"] is True
    locked = build(pipeline=Pipeline([Lock()])).run().provenance["baseline"][0]["steps"][0]
    assert locked["cache_miss_reason"] == "the step's attributes cannot be hashed; step not cached"


def test_resume_does_not_mix_class_based_steps_with_other_attributes():
    first = build(datasource=numbers(start=1), pipeline=Pipeline([Scale(2)])).run()
    resumed = build(datasource=numbers(start=1), pipeline=Pipeline([Scale(3)])).run(replicates=3, strategy="resume")
    assert resumed.run_id != first.run_id
    assert resumed.metrics.baseline.metrics["out"] == [3.0, 3.0, 3.0]


# -- re-audit: more ways a hit could differ from computing ------------------------------
@pipeline_step(cacheable=True)
def counts_hyperparameters(data, ctx):
    CALLS.append("hp")
    hp = {k: v for k, v in ctx.as_dict().items() if k not in ("replicate", "condition", "seed_used")}
    return data, {"n_hp": len(hp)}


def test_iterating_the_context_keys_which_keys_exist():
    def run(**values):
        return build(pipeline=Pipeline([counts_hyperparameters()]), initial_ctx=values).run()

    assert run(lr=0.1).metrics.baseline.metrics["n_hp"] == [1, 1]
    assert run(lr=0.1, dropout=0.5).metrics.baseline.metrics["n_hp"] == [2, 2]


@pipeline_step(cacheable=True)
def reads_through_a_copy(data, ctx):
    import copy

    CALLS.append("copy")
    return data, {"scaled": sum(data) * copy.copy(ctx)["scale"]}


def test_reads_through_a_copy_of_the_context_are_keyed():
    result = build(
        pipeline=Pipeline([reads_through_a_copy()]), initial_ctx={"scale": 1},
        treatments=[treatment("big", {"scale": 100})],
    ).run()
    assert result.metrics.treatments["big"].metrics["scaled"] == [300, 300]


@pipeline_step()
def order_a(data, ctx, *, late="b"):
    # the same metrics either way (a=0, b=1), recorded in another order
    first, second = (("a", 0.0), ("b", 1.0)) if late == "b" else (("b", 1.0), ("a", 0.0))
    ctx.metrics.add(*first)
    ctx.metrics.add(*second)
    return data


@pipeline_step(cacheable=True)
def last_logged(data, ctx):
    return data, {"last": ctx.metrics.log[-1][1]}


def test_the_order_of_earlier_metrics_is_keyed():
    result = build(pipeline=Pipeline([order_a(), last_logged()]), treatments=[treatment("flip", {"late": "a"})]).run()
    assert result.metrics.baseline.metrics["last"] == [1.0, 1.0]
    assert result.metrics.treatments["flip"].metrics["last"] == [0.0, 0.0]


@pipeline_step(cacheable=True)
def uses_metrics_like_any_object(data, ctx):
    import copy
    import pickle

    from crystallize.utils.context import ContextMetrics

    metrics = ctx.metrics
    assert isinstance(metrics, ContextMetrics) and metrics == ctx.metrics
    copy.deepcopy(metrics)
    pickle.loads(pickle.dumps(metrics))
    assert "ContextMetrics" in repr(metrics)
    return data


def test_ctx_metrics_behaves_like_the_real_object_in_a_cacheable_step():
    result = build(pipeline=Pipeline([uses_metrics_like_any_object()])).run()
    assert not result.errors, result.errors


@pipeline_step(cacheable=True)
def swapped_in(data, ctx):
    CALLS.append("swapped_in")
    return [x * 2 for x in data]


def test_a_cacheable_step_only_a_treatment_brings_is_cached():
    def run():
        return build(pipeline=Pipeline([total_only()]), treatments=[Treatment("t", pipeline=Pipeline([swapped_in(), total_only()]))]).run()

    run()
    second = run()
    assert len(CALLS) == 2 and second.provenance["t"][0]["steps"][0]["cache_hit"] is True
