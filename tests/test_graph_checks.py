"""ExperimentGraph checks of code-built graphs: treatment upstreams, file names, roots, fingerprints."""

from __future__ import annotations

import json

import pytest

from crystallize import ArtifactPlugin, Experiment, Treatment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import ExperimentGraph, UpstreamOutput
from crystallize.exceptions import ConfigError
from crystallize.fingerprint import fingerprint, spec_of


@data_source
def const(ctx, v: float = 0.0):
    return v


@pipeline_step()
def save(data, model: Artifact):
    model.write(json.dumps(data))
    return data, {"v": float(data)}


@pipeline_step()
def use(data):
    return data, {"v": float(data)}


def _producer(v: float = 5.0, root: str = "data", file_name: str = "m.json") -> Experiment:
    return Experiment(
        datasource=const(v=v), pipeline=[save(model=Artifact(file_name))], name="p", replicates=2,
        plugins=[ArtifactPlugin(root_dir=root)],
    )


def _consumer(source: UpstreamOutput, root: str = "data") -> Experiment:
    return Experiment(
        datasource=source, pipeline=[use()], name="c", replicates=2, plugins=[ArtifactPlugin(root_dir=root)]
    )


def test_a_treatment_reading_an_upstream_output_runs_after_it():
    consumer = Experiment(
        datasource=const(v=0.0), pipeline=[use()], name="c", replicates=2,
        treatments=[Treatment("from_p", datasource=UpstreamOutput("p", "model", "m.json", loader=json.loads))],
    )
    graph = ExperimentGraph.from_experiments([consumer, _producer()])

    assert graph.order == ["p", "c"]
    assert graph.dependencies["c"] == [("p", "model")]
    results = graph.run()
    assert not results["c"].errors
    assert results["c"].metrics.treatments["from_p"].metrics["v"] == [5.0, 5.0]


def test_a_file_name_other_than_the_producers_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        ExperimentGraph.from_experiments([_producer(), _consumer(UpstreamOutput("p", "model", "other.json"))])
    message = str(info.value)
    assert "'c' reads 'p#model' from file 'other.json'" in message
    assert "'p' writes that output to 'm.json'" in message


def test_an_omitted_file_name_is_the_producers():
    source = UpstreamOutput("p", "model", loader=json.loads)
    results = ExperimentGraph.from_experiments([_producer(), _consumer(source)]).run()

    assert source.file_name == "m.json"
    assert not results["c"].errors
    assert results["c"].metrics.baseline.metrics["v"] == [5.0, 5.0]


def test_an_upstream_output_without_root_dir_reads_the_consumers_root():
    _producer(v=1.0).run()  # an older run of p under ./data
    source = UpstreamOutput("p", "model", "m.json", loader=json.loads)
    graph = ExperimentGraph.from_experiments([_producer(v=2.0, root="store1"), _consumer(source, root="store1")])

    results = graph.run()

    assert not results["c"].errors
    assert results["c"].metrics.baseline.metrics["v"] == [2.0, 2.0]


def test_a_producer_under_another_root_is_a_config_error():
    source = UpstreamOutput("p", "model", "m.json")
    with pytest.raises(ConfigError) as info:
        ExperimentGraph.from_experiments([_producer(root="store1"), _consumer(source, root="store2")])
    message = str(info.value)
    assert "'p' writes its artifacts under root_dir 'store1'" in message
    assert "'c' reads 'p#model' under 'store2'" in message


def test_an_explicit_root_dir_other_than_the_consumers_is_a_config_error():
    source = UpstreamOutput("p", "model", "m.json", root_dir="data")
    with pytest.raises(ConfigError, match="root_dir 'data'.*'store1'"):
        ExperimentGraph.from_experiments([_producer(root="store1"), _consumer(source, root="store1")])


def test_a_code_built_graph_fills_in_the_upstream_fingerprint():
    producer = _producer()
    source = UpstreamOutput("p", "model", "m.json", loader=json.loads)
    ExperimentGraph.from_experiments([producer, _consumer(source)])

    assert source.params["upstream_fingerprint"] == fingerprint(spec_of(producer))


def test_a_combined_source_reports_what_the_graph_filled_in():
    """A CombinedSource's params (stored with the run, shown by diff) follow its sources
    after a graph fills in their file name and fingerprint."""
    from crystallize.config import CombinedSource

    producer = _producer()
    upstream = UpstreamOutput("p", "model", loader=json.loads)
    combined = CombinedSource({"model": upstream, "other": const(v=1.0)})
    ExperimentGraph.from_experiments([producer, _consumer(combined)])

    params = combined.params["model"]["params"]
    assert params["file_name"] == "m.json"
    assert params["upstream_fingerprint"] == fingerprint(spec_of(producer))


def test_a_changed_producer_makes_a_resumed_consumer_recompute():
    def graph(v: float) -> ExperimentGraph:
        return ExperimentGraph.from_experiments(
            [_producer(v=v), _consumer(UpstreamOutput("p", "model", "m.json", loader=json.loads))]
        )

    graph(1.0).run()
    results = graph(2.0).run(strategy="resume")

    assert results["c"].info["resumed"] == 0
    assert results["c"].metrics.baseline.metrics["v"] == [2.0, 2.0]


def test_apply_and_debug_read_under_the_consumers_root_too():
    _producer(v=1.0).run()  # an older run of p under ./data
    _producer(v=2.0, root="store1").run()
    consumer = _consumer(UpstreamOutput("p", "model", "m.json", loader=json.loads), root="store1")

    assert consumer.apply() == 2.0  # not ./data's 1.0
    import io

    from rich.console import Console

    assert consumer.debug(console=Console(file=io.StringIO())) == 2.0
