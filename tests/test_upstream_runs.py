"""A consumer reads the producer run the store recorded last, with that run's replicate count."""

from __future__ import annotations

import json

from crystallize import ArtifactPlugin, Experiment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import UpstreamOutput


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


def _producer(versioned: bool = False, offset: int = 0, fail: tuple[int, ...] = ()) -> Experiment:
    @pipeline_step()
    def train(data, *, model: Artifact):
        if data in fail:
            raise RuntimeError("producer failed")
        model.write(json.dumps({"trained_on": data + offset}))
        return data

    return Experiment(
        datasource=replicate_index(), pipeline=[train(model=Artifact("model.json"))], name="train",
        replicates=4, plugins=[ArtifactPlugin(root_dir="data", versioned=versioned)],
    )


def _consumer(replicates: int = 4) -> Experiment:
    @pipeline_step()
    def evaluate(data):
        return data, {"trained_on": data["trained_on"]}

    return Experiment(
        datasource=UpstreamOutput("train", "model", "model.json", loader=json.loads, root_dir="data"),
        pipeline=[evaluate()], name="evaluate", replicates=replicates,
        plugins=[ArtifactPlugin(root_dir="data")],
    )


def test_failed_last_producer_replicates_are_errors_not_earlier_replicates_again():
    _producer().run()
    producer = _producer(fail=(2, 3)).run()
    assert len(producer.errors) == 2

    result = _consumer().run()

    assert result.metrics.baseline.metrics["trained_on"] == [0, 1]
    assert sorted(e.replicate for e in result.errors) == [2, 3]
    message = result.errors[0].message
    assert f"replicate 2 of 'train' (baseline) failed in run {producer.run_id}" in message
    assert "output 'model' is not read" in message


def test_more_consumer_replicates_still_wrap_on_the_producer_run_count():
    _producer().run()
    result = _consumer(replicates=6).run()
    assert not result.errors
    assert result.metrics.baseline.metrics["trained_on"] == [0, 1, 2, 3, 0, 1]


def test_a_producer_switched_to_unversioned_is_read_from_its_newest_run():
    _producer(versioned=True).run()  # v0
    _producer(versioned=True, offset=100).run()  # v1
    _producer(versioned=False, offset=1000).run()  # empties v0, the newest run

    result = _consumer().run()

    assert not result.errors
    assert result.metrics.baseline.metrics["trained_on"] == [1000, 1001, 1002, 1003]


def test_a_producer_switched_back_to_versioned_is_read_from_its_newest_run():
    _producer(versioned=False).run()  # v0
    _producer(versioned=True, offset=100).run()  # v1
    assert _consumer().run().metrics.baseline.metrics["trained_on"] == [100, 101, 102, 103]



@pipeline_step()
def write_then_fail(data, *, model: Artifact):
    model.write(json.dumps({"trained_on": data}))
    if data == 1:
        raise RuntimeError("failed after writing its file")
    return data


def test_a_file_a_failed_producer_replicate_wrote_is_not_read():
    producer = Experiment(
        datasource=replicate_index(), pipeline=[write_then_fail(model=Artifact("model.json"))], name="train",
        replicates=4, plugins=[ArtifactPlugin(root_dir="data")],
    ).run()
    assert [e.replicate for e in producer.errors] == [1]

    result = _consumer().run()

    assert result.metrics.baseline.metrics["trained_on"] == [0, 2, 3]
    assert [e.replicate for e in result.errors] == [1]
    assert f"replicate 1 of 'train' (baseline) failed in run {producer.run_id}" in result.errors[0].message


def _consumer_reading(file_name: str | None) -> Experiment:
    @pipeline_step()
    def evaluate(data):
        return data, {"trained_on": data["trained_on"]}

    source = (
        UpstreamOutput("train", "model", loader=json.loads) if file_name is None
        else UpstreamOutput("train", "model", file_name, loader=json.loads)
    )
    return Experiment(datasource=source, pipeline=[evaluate()], name="evaluate", replicates=1,
                      plugins=[ArtifactPlugin(root_dir="data")])


def test_a_file_name_never_filled_in_is_named_as_the_cause():
    _producer().run()  # writes model.json; run alone, the consumer reads "model"
    [error] = _consumer_reading(None).run().errors
    assert "replicate 0's folder holds 'model.json'" in error.message
    assert "give file_name=" in error.message and "ExperimentGraph.from_experiments" in error.message
    assert "may have failed" not in error.message  # the upstream replicate is fine


def test_a_wrong_file_name_given_names_what_was_written():
    _producer().run()
    [error] = _consumer_reading("model.txt").run().errors
    assert "wrote 'model.json'" in error.message and "not 'model.txt'" in error.message
