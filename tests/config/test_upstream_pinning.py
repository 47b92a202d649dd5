"""A consumer run reads one upstream version, even while the upstream is run again."""

from __future__ import annotations

import json
import pickle

import pytest

from crystallize import ArtifactPlugin, Experiment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import UpstreamOutput
from crystallize.config.upstream import MissingUpstreamArtifactError
from crystallize.fingerprint import fingerprint, spec_of
from crystallize.store import open_store
from crystallize.store.artifacts import artifact_path, reset_version_dir


@data_source
def nothing(ctx):
    return None


@pipeline_step()
def publish(data, ctx, table: Artifact, *, tag: int = 0):
    table.write(json.dumps({"tag": tag, "replicate": ctx["replicate"]}))
    return data


def _producer(versioned: bool, tag: int = 0, replicates: int = 3) -> Experiment:
    return Experiment(
        datasource=nothing(), pipeline=[publish(table=Artifact("table.json"))], name="maker",
        replicates=replicates, initial_ctx={"tag": tag},
        plugins=[ArtifactPlugin(root_dir="data", versioned=versioned)],
    )


def _write_version(version: int, tag: int, replicates: int) -> None:
    """What another terminal's run of the producer writes into ``v<version>``."""
    for replicate in range(replicates):
        path = artifact_path("data", "maker", version, "baseline", replicate, "table.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"tag": tag, "replicate": replicate}))


def _consumer(during_first_replicate=None, replicates: int = 6) -> Experiment:
    """A consumer reading maker#table; ``during_first_replicate()`` runs inside replicate 0."""

    @pipeline_step()
    def read(data, ctx):
        if ctx["replicate"] == 0 and during_first_replicate is not None:
            during_first_replicate()
        return data, {"uptag": data["tag"], "uprep": data["replicate"]}

    source = UpstreamOutput("maker", "table", "table.json", loader=json.loads, root_dir="data")
    return Experiment(datasource=source, pipeline=[read()], name="user", replicates=replicates)


def test_a_versioned_upstream_run_again_meanwhile_is_not_mixed_in():
    _producer(versioned=True, tag=1).run()  # v0: 3 replicates

    result = _consumer(lambda: _write_version(1, tag=2, replicates=5)).run()

    assert not result.errors
    assert result.metrics.baseline.metrics["uptag"] == [1] * 6
    # the replicate count is the one of v0 when the run started (3), not v1's 5
    assert result.metrics.baseline.metrics["uprep"] == [0, 1, 2, 0, 1, 2]


def test_an_unversioned_upstream_rewritten_meanwhile_is_reported_not_mixed():
    _producer(versioned=False, tag=1).run()

    def rerun_producer():
        reset_version_dir("data", "maker", 0)
        _write_version(0, tag=2, replicates=3)

    result = _consumer(rerun_producer).run()

    assert 2 not in result.metrics.baseline.metrics.get("uptag", [])
    assert len(result.errors) == 5  # replicate 0 read before the rewrite
    message = result.errors[0].message
    assert "was run again (or its artifacts deleted) while this run was reading its artifacts" in message
    assert "may have failed" not in message
    assert "versioned" in message


@pytest.fixture
def running_producer_run(monkeypatch):
    """``start(version)``: a live run of the producer writing ``v<version>``, as another
    terminal's would be; returns its id."""
    from crystallize import session

    def start(version: int) -> str:
        with open_store("data") as store:
            run = store.create_run(
                experiment="maker", fingerprint="x", spec={}, replicates=3, conditions=["baseline"],
                base_seed=None, artifact_version=version,
            )
        monkeypatch.setattr(session, "_DRIVING", session._DRIVING | {run.run_id})  # driven here: alive
        return run.run_id

    return start


def test_a_version_still_being_written_is_passed_over_for_the_last_completed_one(running_producer_run):
    _producer(versioned=True, tag=1).run()  # v0, completed
    _write_version(1, tag=2, replicates=1)  # v1, half written by a run still going
    running = running_producer_run(1)

    result = _consumer().run()

    assert not result.errors
    assert result.metrics.baseline.metrics["uptag"] == [1] * 6
    [warning] = [w for w in result.warnings if running in w]
    assert "still running" in warning and "v0" in warning and "v1" in warning


def test_an_unversioned_upstream_being_rewritten_refuses_the_run(running_producer_run):
    _producer(versioned=False, tag=1).run()
    reset_version_dir("data", "maker", 0)
    running = running_producer_run(0)

    with pytest.raises(MissingUpstreamArtifactError) as info:
        _consumer().run()

    message = str(info.value)
    assert running in message and "Wait until it has finished" in message
    with open_store("data") as store:
        assert store.list_runs("user") == []  # refused before the run was stored


def test_the_pin_travels_to_workers_and_leaves_the_fingerprint_alone():
    _producer(versioned=True, tag=1).run()
    consumer = _consumer()
    before = fingerprint(spec_of(consumer))
    source = consumer.datasource
    source.pin()
    _write_version(1, tag=2, replicates=3)

    copy = pickle.loads(pickle.dumps(source))
    assert copy.fetch({"replicate": 1})["tag"] == 1  # still v0
    source.unpin()
    assert fingerprint(spec_of(consumer)) == before
    assert source.fetch({"replicate": 1})["tag"] == 2  # unpinned: the latest version


def test_consumer_fingerprint_is_the_same_before_and_after_a_run():
    _producer(versioned=True).run()
    consumer = _consumer()
    before = fingerprint(spec_of(consumer))
    consumer.run()
    assert fingerprint(spec_of(consumer)) == before
    assert consumer.run(strategy="resume").info["computed"] == 0
