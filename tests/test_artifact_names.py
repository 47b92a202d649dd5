"""Artifact names: too long for a file system, or written by two steps of one replicate."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.artifacts import Artifact
from crystallize.store.artifacts import atomic_write_bytes


@data_source
def one(ctx):
    return 1


@pipeline_step()
def first(data, *, model: Artifact):
    model.write("from first")
    return data


@pipeline_step()
def second(data, *, model: Artifact):
    model.write("from second")
    return data


@pipeline_step(cacheable=True)
def cached_second(data, *, model: Artifact):
    model.write("from second")
    return data


@pipeline_step()
def checkpoints(data, *, model: Artifact):
    for epoch in range(3):
        model.write(f"epoch {epoch}")
    return data


@pipeline_step()
def reader(data, *, model: Artifact):
    return data, {"read": model.load().decode()}


def _run(pipeline, name="names", strategy="resume"):
    experiment = Experiment(datasource=one(), pipeline=pipeline, name=name, plugins=[ArtifactPlugin("data"), SeedPlugin(seed=1)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = experiment.run(strategy=strategy)
    return result, [str(w.message) for w in caught if "Artifact 'model'" in str(w.message)]


# -- names too long for a file system ---------------------------------------------------------
@pytest.mark.parametrize("size", [242, 250, 255])
def test_names_up_to_255_bytes_are_written(size):
    result, _ = _run([first(model=Artifact("n" * (size - 4) + ".txt"))])
    assert not result.errors
    [path] = Path("data/names/v0/baseline/0").iterdir()  # no temporary file left
    assert len(path.name) == size and path.read_text() == "from first"


def test_atomic_write_of_a_255_byte_multibyte_name(tmp_path):
    target = tmp_path / ("é" * 127 + "x")  # 255 bytes in UTF-8
    atomic_write_bytes(target, b"ok")
    assert target.read_bytes() == b"ok"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize(
    ("name", "size"),
    [("n" * 256, 256), ("é" * 128, 256), ("plots/" + "p" * 300 + ".png", 304)],
    ids=["256-ascii", "128-two-byte", "in-a-directory"],
)
def test_names_longer_than_255_bytes_are_refused_when_created(name, size):
    with pytest.raises(ValueError) as info:
        Artifact(name)
    message = str(info.value)
    assert f"{size} bytes long" in message and "at most 255" in message
    assert len(message) < 400


# -- two steps writing one name -------------------------------------------------------------
def test_a_second_step_overwriting_an_artifact_warns():
    result, caught = _run([first(), second()])

    assert not result.errors
    [message] = caught
    assert "earlier step" in message and "only the last write is kept" in message
    assert "data/names/v0/<condition>/<replicate>/model" in message
    record = result.full_records()[0]
    assert [step.artifacts for step in record.steps] == [["model"], ["model"]]


def test_the_overwrite_warning_comes_once_not_once_per_replicate():
    """Its text is the same for every replicate, so Python's usual once-per-place rule
    shows it once: a long run does not flood the output with one line per replicate."""
    experiment = Experiment(
        datasource=one(),
        pipeline=[first(), second()],
        name="flood",
        replicates=5,
        treatments=[treatment("other", {"x": 1})],
        plugins=[ArtifactPlugin("data"), SeedPlugin(seed=1)],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = experiment.run()
    assert not result.errors
    assert len(result.full_records()) == 10
    assert sum("only the last write is kept" in str(w.message) for w in caught) == 1


def test_a_step_rewriting_its_own_artifact_or_a_later_step_reading_it_does_not_warn():
    shared = Artifact("model")
    result, caught = _run([checkpoints(model=shared), reader(model=shared)])
    assert not result.errors and caught == []
    assert result.metrics.baseline.metrics["read"] == ["epoch 2"]


def test_a_cached_overwriting_step_replays_its_own_write():
    pipeline = [first(), cached_second()]
    _run(pipeline, name="cached")
    path = Path("data/cached/v0/baseline/0/model")
    assert path.read_text() == "from second"
    result, _ = _run(pipeline, name="cached", strategy="rerun")  # second's output from the cache
    assert not result.errors
    assert result.full_records()[0].steps[1].cache_miss_reason is None
    assert path.read_text() == "from second"
