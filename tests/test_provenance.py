"""Provenance says what a step was given, and errors say where a replicate failed."""

from __future__ import annotations

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment


@data_source
def one(ctx):
    return 1


@pipeline_step()
def boosts(data, ctx, *, lr=0.1):
    ctx.override(lr=lr * 100)
    return data, {"lr_seen": lr}


def _run(pipeline, treatments=()):
    return Experiment(
        datasource=one(), pipeline=Pipeline(pipeline), treatments=list(treatments),
        initial_ctx={"lr": 0.1}, plugins=[ArtifactPlugin(root_dir=None)],
    ).run()


def test_ctx_reads_shows_the_value_the_step_was_given():
    result = _run([boosts()])
    step = result.provenance["baseline"][0]["steps"][0]
    assert result.metrics.baseline.metrics["lr_seen"] == [0.1]
    assert step["ctx_reads"] == {"lr": 0.1}


def _broken(ctx):
    ctx["missing_key"]


def test_a_failing_treatment_is_not_blamed_on_the_datasource():
    result = _run([boosts()], [treatment("broken", _broken)])
    (error,) = result.errors
    assert (error.condition, error.step) == ("broken", "treatment")


@pipeline_step()
def reads_corpus(data, ctx, *, corpus, scale):
    return data, {"chars": len(corpus)}


def test_ctx_reads_keeps_long_text_short_and_numpy_scalars_as_numbers():
    import numpy as np

    result = Experiment(
        datasource=one(), pipeline=Pipeline([reads_corpus()]),
        initial_ctx={"corpus": "word " * 100_000, "scale": np.float32(0.25)},
        plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    reads = result.provenance["baseline"][0]["steps"][0]["ctx_reads"]
    assert result.metrics.baseline.metrics["chars"] == [500_000]  # the step saw all of it
    assert len(reads["corpus"]) == 200 and reads["corpus"].endswith("...")
    assert reads["scale"] == 0.25 and isinstance(reads["scale"], float)
