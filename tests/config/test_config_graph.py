"""Experiment graphs: a consumer reading a producer's artifact, run upstream first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crystallize import Experiment, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.config import ConfigCycleError, ExperimentGraph, UpstreamOutput
from crystallize.exceptions import ConfigError

PRODUCER = """
name: producer
replicates: 3
datasource: {src: numbers}
steps: [total, save]
outputs:
  result: {file_name: result.json, loader: load_json, writer: dump_json}
plugins: {seed: {seed: 1}}
"""

PRODUCER_STEPS = """
from pathlib import Path

from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def total(data):
    with open(Path.cwd() / "calls.txt", "a") as handle:
        handle.write("x\\n")
    return data, {"total": sum(data)}


@pipeline_step()
def save(data, ctx, result: Artifact):
    result.write({"replicate": ctx["replicate"], "sum": sum(data)})
    return data
"""

OUTPUTS = """
import json


def dump_json(value):
    return json.dumps(value).encode("utf-8")


def load_json(data):
    return json.loads(data.decode("utf-8"))
"""

CONSUMER = """
name: consumer
replicates: {replicates}
datasource: {{upstream: producer#{output}}}
steps: [check]
plugins:
  seed: {{seed: 2}}
  execution: {execution}
"""

CONSUMER_STEPS = """
from crystallize import pipeline_step


@pipeline_step()
def check(data):
    return data, {"upstream_sum": data["sum"], "upstream_replicate": data["replicate"]}
"""


@pytest.fixture
def graph_folders(make_folder):
    """``make(replicates=3, output="result", execution="{strategy: serial}")`` -> consumer folder."""

    def make(replicates: int = 3, output: str = "result", execution: str = "{strategy: serial}") -> Path:
        make_folder("producer", PRODUCER, steps=PRODUCER_STEPS, outputs=OUTPUTS)
        config = CONSUMER.format(replicates=replicates, output=output, execution=execution)
        return make_folder("consumer", config, datasources=None, steps=CONSUMER_STEPS)

    return make


def _calls(tmp_path: Path) -> int:
    path = tmp_path / "calls.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_consumer_decodes_the_producers_artifact(graph_folders, tmp_path):
    graph = ExperimentGraph.from_yaml(graph_folders())

    assert graph.order == ["producer", "consumer"]
    assert graph.upstream_of("consumer") == ["producer"]
    assert graph.downstream_of("producer") == ["consumer"]
    assert graph.sinks == ["consumer"]
    results = graph.run()

    assert list(results) == ["producer", "consumer"]
    consumer = results["consumer"]
    assert not consumer.errors
    assert consumer.metrics.baseline.metrics["upstream_replicate"] == [0, 1, 2]
    assert consumer.metrics.baseline.metrics["upstream_sum"] == pytest.approx(
        results["producer"].metrics.baseline.metrics["total"]
    )
    stored = tmp_path / "data" / "producer" / "v0" / "baseline" / "1" / "result.json"
    assert json.loads(stored.read_text())["replicate"] == 1


def test_resume_does_not_rerun_finished_experiments(graph_folders, tmp_path):
    graph = ExperimentGraph.from_yaml(graph_folders())
    graph.run()
    assert _calls(tmp_path) == 3

    again = ExperimentGraph.from_yaml(tmp_path / "experiments" / "consumer").run(strategy="resume")

    assert _calls(tmp_path) == 3  # nothing recomputed upstream
    assert again["producer"].info["computed"] == 0
    assert again["consumer"].info["computed"] == 0
    assert again["consumer"].metrics.baseline.metrics["upstream_replicate"] == [0, 1, 2]

    graph.run(strategy="rerun")
    assert _calls(tmp_path) == 6


def test_more_consumer_replicates_wrap_around(graph_folders):
    results = ExperimentGraph.from_yaml(graph_folders(replicates=5)).run()
    assert results["consumer"].metrics.baseline.metrics["upstream_replicate"] == [0, 1, 2, 0, 1]


def test_graph_replicates_override(graph_folders, tmp_path):
    results = ExperimentGraph.from_yaml(graph_folders()).run(replicates=2)
    assert _calls(tmp_path) == 2
    assert results["consumer"].metrics.baseline.metrics["upstream_replicate"] == [0, 1]


def test_consumer_with_process_execution(graph_folders):
    folder = graph_folders(execution="{strategy: process, workers: 2}")
    results = ExperimentGraph.from_yaml(folder).run()
    assert not results["consumer"].errors
    assert results["consumer"].metrics.baseline.metrics["upstream_replicate"] == [0, 1, 2]


def test_consumer_alone_before_the_producer_ran(graph_folders):
    consumer = Experiment.from_yaml(graph_folders())
    assert consumer.upstream == ("producer",)
    result = consumer.run()
    assert len(result.errors) == 3
    assert "experiment 'producer' has no artifacts" in result.errors[0].message


def test_missing_upstream_output(graph_folders):
    with pytest.raises(ConfigError) as info:
        ExperimentGraph.from_yaml(graph_folders(output="resul"))
    message = str(info.value)
    assert "datasource.upstream: experiment 'producer' declares no output 'resul' (its outputs: result); did you mean 'result'?" in message


def test_unknown_upstream_experiment(make_folder):
    make_folder("producer", PRODUCER, steps=PRODUCER_STEPS, outputs=OUTPUTS)
    folder = make_folder("consumer", "datasource: {u: prodcer#result}\nsteps: [check]\n", datasources=None, steps=CONSUMER_STEPS)
    with pytest.raises(ConfigError, match="no experiment named 'prodcer' among the folders beside this one .*did you mean 'producer'"):
        Experiment.from_yaml(folder)


def test_upstream_found_by_declared_name_not_folder(make_folder):
    make_folder("folder_of_producer", PRODUCER, steps=PRODUCER_STEPS, outputs=OUTPUTS)
    folder = make_folder("consumer", CONSUMER.format(replicates=1, output="result", execution="{}"), datasources=None, steps=CONSUMER_STEPS)
    graph = ExperimentGraph.from_yaml(folder)
    assert graph.order == ["producer", "consumer"]


def test_broken_upstream_is_reported_through_the_consumer(graph_folders, tmp_path):
    folder = graph_folders()
    (tmp_path / "experiments" / "producer" / "config.yaml").write_text(PRODUCER + "replicats: 2\n")
    with pytest.raises(ConfigError) as info:
        Experiment.from_yaml(folder)
    message = str(info.value)
    assert "datasource.upstream: the upstream experiment 'producer' could not be loaded" in message
    assert "unknown key 'replicats'; did you mean 'replicates'?" in message


def test_cycle_between_folders(make_folder):
    steps = """
    from crystallize import pipeline_step
    from crystallize.artifacts import Artifact


    @pipeline_step()
    def emit(data, out: Artifact):
        out.write(b"1")
        return data
    """
    config = "name: {name}\ndatasource: {{d: {other}#out}}\nsteps: [emit]\noutputs: {{out: {{}}}}\n"
    make_folder("a", config.format(name="a", other="b"), datasources=None, steps=steps)
    make_folder("b", config.format(name="b", other="c"), datasources=None, steps=steps)
    folder_c = make_folder("c", config.format(name="c", other="a"), datasources=None, steps=steps)
    with pytest.raises(ConfigCycleError) as info:
        ExperimentGraph.from_yaml(folder_c)
    assert info.value.cycle == ["c", "a", "b", "c"]
    assert "c -> a -> b -> c" in str(info.value)
    with pytest.raises(ConfigCycleError):
        Experiment.from_yaml(folder_c)


def test_self_reference_is_a_cycle(make_folder):
    folder = make_folder("solo", "datasource: {d: solo#out}\nsteps: [total]\noutputs: {out: {}}\n")
    with pytest.raises(ConfigCycleError, match="solo -> solo"):
        Experiment.from_yaml(folder)


def test_root_dirs_must_match(make_folder):
    make_folder("producer", PRODUCER, steps=PRODUCER_STEPS, outputs=OUTPUTS)
    config = "datasource: {u: producer#result}\nsteps: [check]\nplugins: {artifacts: {root_dir: elsewhere}}\n"
    folder = make_folder("consumer", config, datasources=None, steps=CONSUMER_STEPS)
    with pytest.raises(ConfigError, match="writes its artifacts under root_dir 'data', but this experiment reads from 'elsewhere'"):
        Experiment.from_yaml(folder)


def test_upstream_reference_takes_no_parameters(make_folder):
    folder = make_folder("consumer", "datasource: {u: {producer#result: {x: 1}}}\nsteps: [total]\n")
    with pytest.raises(ConfigError, match="takes no parameters"):
        Experiment.from_yaml(folder)


# -- graphs of experiments built in code ---------------------------------------------------
@data_source
def seeds(ctx):
    return [1, 2, 3]


@pipeline_step()
def publish(data, ctx, table: Artifact):
    table.write(json.dumps(data))
    return data


@pipeline_step()
def measure(data):
    return data, {"size": len(data)}


def _producer(name: str = "maker") -> Experiment:
    return Experiment(datasource=seeds(), pipeline=[publish(table=Artifact("table.json"))], name=name, replicates=2)


def _consumer(reads: str = "maker", output: str = "table", name: str = "user") -> Experiment:
    source = UpstreamOutput(reads, output, "table.json", loader=json.loads)
    return Experiment(datasource=source, pipeline=[measure()], name=name, replicates=2)


def test_graph_from_experiments_in_code():
    graph = ExperimentGraph.from_experiments([_consumer(), _producer()])
    assert graph.order == ["maker", "user"]
    results = graph.run()
    assert results["user"].metrics.baseline.metrics["size"] == [3, 3]


def test_code_graph_checks_before_running():
    with pytest.raises(ConfigError, match="the graph has no experiment named 'maker'"):
        ExperimentGraph.from_experiments([_consumer()])
    with pytest.raises(ConfigError, match="'maker' declares no output 'tabel' \\(its outputs: table\\); did you mean 'table'"):
        ExperimentGraph.from_experiments([_producer(), _consumer(output="tabel")])
    with pytest.raises(ConfigError, match="named 'maker'; names must be unique"):
        ExperimentGraph.from_experiments([_producer(), _producer()])


def test_code_graph_cycle():
    first = _consumer(reads="second", name="first")
    second = _consumer(reads="first", name="second")
    first.outputs = second.outputs = {"table": Artifact("table.json")}
    with pytest.raises(ConfigCycleError) as info:
        ExperimentGraph.from_experiments([first, second])
    assert info.value.cycle == ["first", "second", "first"]
    assert not Path("data").exists()  # nothing ran


def test_cached_producer_step_still_provides_its_artifact(make_folder):
    make_folder("producer", PRODUCER, steps=PRODUCER_STEPS.replace("@pipeline_step()\ndef save", "@pipeline_step(cacheable=True)\ndef save"), outputs=OUTPUTS)
    folder = make_folder("consumer", CONSUMER.format(replicates=3, output="result", execution="{}"), datasources=None, steps=CONSUMER_STEPS)
    ExperimentGraph.from_yaml(folder).run()
    second = ExperimentGraph.from_yaml(folder).run()
    assert not second["consumer"].errors
