"""A consumer run records the producer runs it read; a resume reads exactly those, or starts anew."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from crystallize import ArtifactPlugin, Experiment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import UpstreamOutput
from crystallize.store import open_store


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


@pipeline_step()
def publish(data, ctx, table: Artifact):
    table.write(json.dumps({"tag": ctx["tag"], "replicate": data}))
    return data


@pipeline_step()
def read(data, ctx):
    """Fails from the replicate named in ./cut_short on (as if the run was cut short there)."""
    cut = Path("cut_short")
    if cut.exists() and ctx["replicate"] >= int(cut.read_text()):
        raise RuntimeError("cut short")
    return data, {"uptag": data["tag"], "uprep": data["replicate"]}


def _producer(tag: int, replicates: int = 3) -> Experiment:
    return Experiment(
        datasource=replicate_index(), pipeline=[publish(table=Artifact("table.json"))], name="maker",
        replicates=replicates, initial_ctx={"tag": tag}, plugins=[ArtifactPlugin(root_dir="data")],
    )


def _consumer(fail_from: int | None = None, replicates: int = 3) -> Experiment:
    """Reads maker#table; replicates from ``fail_from`` on fail (the spec is the same either way)."""
    cut = Path("cut_short")
    if fail_from is None:
        cut.unlink(missing_ok=True)
    else:
        cut.write_text(str(fail_from))
    return Experiment(
        datasource=UpstreamOutput("maker", "table", "table.json", loader=json.loads), pipeline=[read()],
        name="user", replicates=replicates, plugins=[ArtifactPlugin(root_dir="data")],
    )


def _stored_summary(run_id: str) -> dict:
    with open_store("data") as store:
        return store.get_run(run_id).summary or {}


def test_the_result_and_the_stored_summary_name_the_producer_run_read():
    producer = _producer(tag=1).run()

    result = _consumer().run()

    expected = [{"experiment": "maker", "output": "table", "run_id": producer.run_id, "version": 0}]
    assert result.info["upstream"] == expected
    assert _stored_summary(result.run_id)["upstream"] == expected
    from crystallize.store import load_result

    assert load_result(result.run_id).info["upstream"] == expected  # a stored run says so too


def test_the_producer_run_is_stored_when_the_run_starts():
    producer = _producer(tag=1).run()
    seen = {}

    @pipeline_step()
    def peek(data, ctx):
        with open_store("data") as store:
            seen.update(store.latest_run("user").summary or {})
        return data, {}

    consumer = _consumer()
    consumer.pipeline.steps.append(peek())
    consumer.run()

    assert seen["upstream"] == [{"experiment": "maker", "output": "table", "run_id": producer.run_id, "version": 0}]


def test_a_resume_reads_the_same_producer_run_when_it_is_still_the_newest():
    producer = _producer(tag=1).run()
    first = _consumer(fail_from=1).run()

    resumed = _consumer().run(strategy="resume")

    assert resumed.run_id == first.run_id
    assert resumed.info["resumed"] == 1
    assert resumed.metrics.baseline.metrics["uptag"] == [1, 1, 1]
    assert resumed.info["upstream"][0]["run_id"] == producer.run_id


def test_a_resume_after_the_producer_ran_again_starts_a_new_run(caplog):
    _producer(tag=1).run()
    first = _consumer(fail_from=1).run()
    second_producer = _producer(tag=2).run()

    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = _consumer().run(strategy="resume")

    assert result.run_id != first.run_id
    assert result.info["resumed"] == 0
    assert result.metrics.baseline.metrics["uptag"] == [2, 2, 2]  # never a mix of both producer runs
    assert result.info["upstream"][0]["run_id"] == second_producer.run_id
    assert f"Not resuming run {first.run_id} of 'user'" in caplog.text
    assert f"'maker#table' now comes from run {second_producer.run_id} (v0)" in caplog.text


def test_a_resume_after_the_producer_run_grew_starts_a_new_run(caplog):
    _producer(tag=1, replicates=2).run()
    first = _consumer(fail_from=2, replicates=4).run()  # replicates 0, 1 read producer 0, 1
    _producer(tag=1, replicates=4).run(strategy="resume")  # the same producer run, now 4 replicates

    with caplog.at_level(logging.WARNING, logger="crystallize"):
        resumed = _consumer(replicates=4).run(strategy="resume")

    assert resumed.run_id != first.run_id  # its replicates 2, 3 would have read 0, 1 again
    assert resumed.metrics.baseline.metrics["uprep"] == [0, 1, 2, 3]  # as a new run reads them
    assert "from 2 replicate(s) of its producer run, which has 4 now" in caplog.text


def test_a_run_that_did_not_record_its_producer_run_is_not_resumed(caplog):
    _producer(tag=1).run()
    first = _consumer(fail_from=1).run()
    with open_store("data") as store:  # as stored by a Crystallize that did not record it
        store.finish_run(first.run_id, "failed", summary={})

    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = _consumer().run(strategy="resume")

    assert result.run_id != first.run_id
    assert "does not record which run of 'maker' it read" in caplog.text
