"""Loading folder experiments with Experiment.from_yaml and running them."""

from __future__ import annotations

import json

import pytest

from crystallize import (
    ArtifactPlugin,
    AsyncExecution,
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    SeedPlugin,
    SerialExecution,
)
from crystallize.config import CliOptions, CombinedSource, load_experiment

FULL_CONFIG = """
name: full
description: every field at once
replicates: 5
cli: {group: Demos, priority: 2, icon: "*", color: "#ff8800", hidden: true}
datasource:
  base: {constant: {value: 2.0, n: 4}}
  noise: {numbers: {n: 4}}
steps:
  - combine
  - {add_delta: {}}
  - {scale: {factor: 10}}
  - report
outputs:
  summary: {file_name: out/summary.json, loader: load_json, writer: dump_json}
initial_ctx: {delta: 0.0}
treatments:
  big: {delta: 5.0}
  small: {delta: 0.001}
hypotheses:
  - name: larger_total
    verifier: {welch_t_test: {alternative: greater}}
    metrics: [total]
    correction: holm
  - name: custom
    verifier: {mean_gain: {threshold: 1.0}}
    metrics: total
    ranker: by_gain
plugins:
  seed: {seed: 11, auto_seed: true}
  execution: {strategy: serial}
  artifacts: {root_dir: store, versioned: true}
  logging: {verbose: false, log_level: warning}
"""

FULL_STEPS = """
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def combine(data):
    return [b + 0.01 * n for b, n in zip(data["base"], data["noise"])]


@pipeline_step()
def add_delta(data, ctx, *, delta):
    return [x + delta for x in data]


@pipeline_step()
def scale(data, *, factor=1.0):
    return [x * factor for x in data]


@pipeline_step()
def report(data, ctx, summary: Artifact):
    summary.write({"condition": ctx["condition"], "total": sum(data)})
    return data, {"total": sum(data)}
"""

VERIFIERS = """
from statistics import mean

from crystallize import verifier


@verifier
def mean_gain(baseline, treatment, *, threshold=0.0):
    gain = mean(treatment["total"]) - mean(baseline["total"])
    return {"gain": gain, "significant": gain > threshold}


def by_gain(result):
    return -result["gain"]
"""

OUTPUTS = """
import json


def dump_json(value):
    return json.dumps(value).encode()


def load_json(data):
    return json.loads(data)
"""


def test_full_folder_experiment_runs_and_verifies_its_hypothesis(make_folder):
    folder = make_folder("full", FULL_CONFIG, steps=FULL_STEPS, verifiers=VERIFIERS, outputs=OUTPUTS)

    experiment = Experiment.from_yaml(folder)
    result = experiment.run()

    assert not result.errors
    assert len(result.metrics.baseline.metrics["total"]) == 5
    verdict = result.get_hypothesis("larger_total")
    assert verdict.results["big"]["significant"] is True
    assert verdict.results["big"]["correction"] == "holm"
    custom = result.get_hypothesis("custom")
    assert custom.ranking == ["big", "small"]
    assert custom.results["big"]["significant"] is True
    assert custom.results["small"]["significant"] is False


def test_loaded_experiment_carries_its_settings(make_folder):
    folder = make_folder("full", FULL_CONFIG, steps=FULL_STEPS, verifiers=VERIFIERS, outputs=OUTPUTS)

    experiment = load_experiment(folder / "config.yaml")

    assert experiment.name == "full"
    assert experiment.description == "every field at once"
    assert experiment.replicates == 5
    assert experiment.config_path == (folder / "config.yaml").resolve()
    assert experiment.cli == CliOptions(group="Demos", priority=2, icon="*", color="#ff8800", hidden=True)
    assert [t.name for t in experiment.treatments] == ["big", "small"]
    assert experiment.treatments[0].values == {"delta": 5.0}
    assert experiment.initial_ctx == {"delta": 0.0}
    assert [s.name for s in experiment.pipeline.steps] == ["combine", "add_delta", "scale", "report"]
    assert experiment.pipeline.steps[2].params == {"factor": 10}
    assert isinstance(experiment.datasource, CombinedSource)
    assert list(experiment.datasource.sources) == ["base", "noise"]
    assert set(experiment.outputs) == {"summary"}
    assert experiment.outputs["summary"].name == "out/summary.json"
    seed = experiment.get_plugin(SeedPlugin)
    assert (seed.seed, seed.auto_seed) == (11, True)
    artifacts = experiment.get_plugin(ArtifactPlugin)
    assert (artifacts.root_dir, artifacts.versioned) == ("store", True)
    logging_plugin = experiment.get_plugin(LoggingPlugin)
    assert logging_plugin.verbose is False
    assert isinstance(experiment.execution_plugin, SerialExecution)
    assert [h.name for h in experiment.hypotheses] == ["larger_total", "custom"]
    assert experiment.hypotheses[0].metrics == ["total"]


def test_output_artifact_is_written_through_the_alias_parameter(make_folder, tmp_path):
    folder = make_folder("full", FULL_CONFIG, steps=FULL_STEPS, verifiers=VERIFIERS, outputs=OUTPUTS)
    experiment = Experiment.from_yaml(folder)
    experiment.run(replicates=2)

    written = tmp_path / "store" / "full" / "v0" / "big" / "1" / "out" / "summary.json"
    payload = json.loads(written.read_text())
    assert payload["condition"] == "big"
    artifact = experiment.outputs["summary"]
    assert artifact.loader(written.read_bytes()) == payload


def test_output_functions_may_be_builtins_imported_into_outputs_py(make_folder, tmp_path):
    # pickle.dumps/loads are C functions, not Python functions: they must be found too
    config = FULL_CONFIG.replace("loader: load_json, writer: dump_json", "loader: loads, writer: dumps")
    folder = make_folder("full", config, steps=FULL_STEPS, verifiers=VERIFIERS, outputs="from pickle import dumps, loads\n")
    experiment = Experiment.from_yaml(folder)
    experiment.run(replicates=1)

    written = tmp_path / "store" / "full" / "v0" / "small" / "0" / "out" / "summary.json"
    artifact = experiment.outputs["summary"]
    assert artifact.loader(written.read_bytes())["condition"] == "small"


def test_defaults_name_from_folder_one_replicate_and_value_given_directly(make_folder):
    folder = make_folder(
        "plain-name",
        """
        datasource: constant
        steps: [total]
        """,
    )
    experiment = Experiment.from_yaml(folder)
    assert experiment.name == "plain-name"
    assert experiment.replicates == 1
    assert experiment.treatments == [] and experiment.hypotheses == []
    assert experiment.cli == CliOptions()
    result = experiment.run()
    assert result.metrics.baseline.metrics["total"] == [3.0]  # constant() -> [1.0] * 3, as is


def test_datasource_and_step_kwargs_and_upstream_free_single_alias(make_folder):
    folder = make_folder(
        "kwargs",
        """
        datasource:
          only: {constant: {value: 2.5, n: 2}}
        steps:
          - {scale: {factor: 2}}
          - total
        """,
    )
    result = Experiment.from_yaml(folder).run()
    assert result.metrics.baseline.metrics["total"] == [10.0]


def test_user_verifier_takes_precedence_over_builtin(make_folder):
    verifiers = """
    from crystallize import verifier


    @verifier
    def welch_t_test(baseline, treatment, *, alternative="two-sided"):
        return {"p_value": 0.5, "significant": False, "mine": True}
    """
    folder = make_folder("shadow", verifiers=verifiers)
    result = Experiment.from_yaml(folder).run()
    assert result.get_hypothesis("bigger").results["shifted"]["mine"] is True


def test_builtin_verifier_by_plain_name(make_folder):
    folder = make_folder(
        "builtin",
        """
        replicates: 6
        datasource: numbers
        steps: [add_delta, total]
        treatments: {shifted: {delta: 5.0}}
        hypotheses:
          - {name: h, verifier: mann_whitney, metrics: total}
        plugins: {seed: {seed: 1}}
        """,
    )
    result = Experiment.from_yaml(folder).run()
    assert result.get_hypothesis("h").results["shifted"]["test"] == "mann_whitney"


@pytest.mark.parametrize(
    ("execution", "kind", "attrs"),
    [
        ("{strategy: thread, workers: 3}", ParallelExecution, {"executor_type": "thread", "max_workers": 3}),
        ("{strategy: process}", ParallelExecution, {"executor_type": "process", "max_workers": None}),
        ("{strategy: async, workers: 4}", AsyncExecution, {"max_concurrency": 4}),
        ("{strategy: serial}", SerialExecution, {}),
    ],
)
def test_execution_strategies(make_folder, execution, kind, attrs):
    folder = make_folder(
        "exec",
        f"""
        datasource: constant
        steps: [total]
        plugins: {{execution: {execution}}}
        """,
    )
    with pytest.warns() if "thread" in execution else _no_warning():
        plugin = Experiment.from_yaml(folder).execution_plugin
    assert isinstance(plugin, kind)
    for name, value in attrs.items():
        assert getattr(plugin, name) == value


def test_ray_strategy_builds_a_ray_plugin_without_starting_ray(make_folder):
    folder = make_folder(
        "ray",
        """
        datasource: constant
        steps: [total]
        plugins: {execution: {strategy: ray, workers: 2, address: auto}}
        """,
    )
    plugin = Experiment.from_yaml(folder).execution_plugin
    assert type(plugin).__name__ == "RayExecution"
    assert (plugin.address, plugin.num_cpus) == ("auto", 2)


def test_process_execution_of_a_folder_experiment(make_folder):
    config = """
    replicates: 4
    datasource: {source: numbers}
    steps: [add_delta, total]
    treatments: {shifted: {delta: 3.0}}
    plugins:
      seed: {seed: 5}
      execution: %s
    """
    serial = Experiment.from_yaml(make_folder("serial", config % "{strategy: serial}")).run()
    parallel = Experiment.from_yaml(make_folder("parallel", config % "{strategy: process, workers: 2}")).run()

    assert not parallel.errors
    assert parallel.metrics.baseline.metrics == serial.metrics.baseline.metrics
    assert parallel.metrics.treatments["shifted"].metrics == serial.metrics.treatments["shifted"].metrics


def test_relative_imports_between_folder_modules(make_folder):
    steps = """
    from crystallize import pipeline_step

    from .helpers import double


    @pipeline_step()
    def total(data):
        return data, {"total": double(sum(data))}
    """
    folder = make_folder("relative", "datasource: constant\nsteps: [total]\n", steps=steps)
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    result = Experiment.from_yaml(folder).run()
    assert result.metrics.baseline.metrics["total"] == [6.0]


def test_pipeline_step_subclass_and_datasource_subclass(make_folder):
    datasources = """
    from crystallize import DataSource


    class Fixed(DataSource):
        def __init__(self, values=(1, 2)):
            self.values = list(values)

        def fetch(self, ctx):
            return list(self.values)
    """
    steps = """
    from crystallize import PipelineStep


    class Summed(PipelineStep):
        def __init__(self, offset=0):
            self.offset = offset

        def __call__(self, data, ctx):
            return data, {"total": sum(data) + self.offset}
    """
    folder = make_folder(
        "classes",
        "datasource: {d: {Fixed: {values: [4, 5]}}}\nsteps: [{Summed: {offset: 1}}]\n",
        datasources=datasources,
        steps=steps,
    )
    result = Experiment.from_yaml(folder).run()
    assert result.metrics.baseline.metrics["total"] == [10]


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        return False


def test_treatment_without_values(make_folder):
    folder = make_folder("placebo", "datasource: constant\nsteps: [total]\ntreatments:\n  placebo:\n")
    experiment = Experiment.from_yaml(folder)
    assert experiment.treatments[0].values == {}
    assert experiment.run().metrics.treatments["placebo"].metrics["total"] == [3.0]


def test_importing_the_config_package_is_cheap():
    import subprocess
    import sys

    code = "import sys, crystallize.config; print('pydantic' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
