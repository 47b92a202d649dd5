"""MlflowPlugin against a real local MLflow tracking store (sqlite)."""

from __future__ import annotations

import json
import logging
import pickle
import random
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore:The ..noload.. loader strategy:DeprecationWarning")

from mlflow import MlflowClient  # noqa: E402

from crystallize import (  # noqa: E402
    Artifact,
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.plugins.mlflow import MlflowPlugin, hypothesis_metrics, metric_key  # noqa: E402
from crystallize.stats import welch_t_test  # noqa: E402

REPLICATES = 4


@data_source
def noise(ctx):
    return random.gauss(0.0, 1.0)


@pipeline_step()
def train(data, ctx, *, shift=0.0, notes: Artifact):
    if ctx["condition"] == "big" and ctx["replicate"] == 1:
        raise RuntimeError("diverged at epoch 3")
    notes.write(f"{ctx['condition']}:{ctx['replicate']}")
    for epoch in range(3):
        ctx.metrics.add("loss", 1.0 / (epoch + 1) + shift)
    return data, {"score": data + shift}


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """One experiment run logged to a fresh sqlite store, shared by every test here."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    plugin = MlflowPlugin(
        tracking_uri=uri, experiment_name="mlflow-test",
        artifact_location=(root / "artifacts").as_uri(),
    )
    experiment = Experiment(
        datasource=noise(),
        pipeline=Pipeline([train()]),
        treatments=[treatment("small", {"shift": 0.5}), treatment("big", {"shift": 3.0})],
        hypotheses=[Hypothesis(welch_t_test(metric="score"), "score", name="score_up")],
        replicates=REPLICATES,
        plugins=[plugin, SeedPlugin(seed=5), ArtifactPlugin(root_dir=root / "data")],
        initial_ctx={"lr": 0.1},
        name="mlflow-exp",
    )
    result = experiment.run()
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.get_experiment_by_name("mlflow-test").experiment_id
    runs = client.search_runs([exp_id], max_results=500)
    return plugin, result, client, runs, root


def _parent(runs):
    parents = [r for r in runs if r.data.tags.get("crystallize.kind") == "experiment"]
    assert len(parents) == 1
    return parents[0]


def _children(runs):
    return [r for r in runs if "crystallize.condition" in r.data.tags]


def test_one_nested_child_run_per_condition_and_replicate(logged):
    plugin, result, _client, runs, _root = logged
    parent = _parent(runs)
    children = _children(runs)
    assert len(children) == 3 * REPLICATES == len(result.records)
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    keys = {(r.data.tags["crystallize.condition"], int(r.data.tags["crystallize.replicate"])) for r in children}
    assert keys == {(c, i) for c in ("baseline", "small", "big") for i in range(REPLICATES)}
    assert set(plugin.child_run_ids.values()) == {r.info.run_id for r in children}
    assert parent.info.status == "FINISHED"


def test_child_runs_carry_params_metrics_and_tags(logged):
    _plugin, result, client, runs, _root = logged
    by_key = {
        (r.data.tags["crystallize.condition"], int(r.data.tags["crystallize.replicate"])): r
        for r in _children(runs)
    }
    for record in result.records:
        run = by_key[(record.condition, record.replicate)]
        assert run.data.params["seed"] == str(record.seed)
        assert run.data.params["lr"] == "0.1"
        assert run.data.tags["crystallize.run_id"] == result.run_id
        assert run.data.tags["crystallize.fingerprint"]
        if record.ok:
            assert run.info.status == "FINISHED"
            assert run.data.metrics["score"] == pytest.approx(record.metrics["score"][-1])
    small = by_key[("small", 2)]
    assert small.data.params["shift"] == "0.5"
    assert "shift" not in by_key[("baseline", 0)].data.params
    history = client.get_metric_history(small.info.run_id, "loss")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 1, 2]
    assert small.data.metrics["loss"] == pytest.approx(1 / 3 + 0.5), "latest value is the last one"


def test_failed_replicate_is_a_failed_run_with_the_error(logged):
    _plugin, _result, _client, runs, _root = logged
    failed = [r for r in _children(runs) if r.info.status == "FAILED"]
    assert len(failed) == 1
    assert failed[0].data.tags["crystallize.condition"] == "big"
    assert "diverged at epoch 3" in failed[0].data.tags["crystallize.error"]


def test_parent_run_has_hypotheses_reports_and_run_id(logged, tmp_path):
    _plugin, result, client, runs, _root = logged
    parent = _parent(runs)
    assert parent.data.tags["crystallize.run_id"] == result.run_id
    assert parent.data.params["base_seed"] == "5"
    assert parent.data.tags["crystallize.errors"] == "1"
    hyp = result.get_hypothesis("score_up")
    for name in ("small", "big"):
        assert parent.data.metrics[f"hyp.score_up.{name}.p_value"] == pytest.approx(hyp.results[name]["p_value"])
        assert parent.data.metrics[f"hyp.score_up.{name}.ci_low"] == pytest.approx(hyp.results[name]["ci"][0])
    assert parent.data.metrics["hyp.score_up.big.significant"] in (0.0, 1.0)
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"hypotheses.json", "report.txt", "report.html"} <= names
    local = client.download_artifacts(parent.info.run_id, "hypotheses.json", str(tmp_path))
    stored = json.loads(Path(local).read_text())
    assert stored[0]["name"] == "score_up"
    assert stored[0]["results"]["big"]["p_value"] == pytest.approx(hyp.results["big"]["p_value"])


def test_step_artifacts_are_uploaded_to_their_child_run(logged, tmp_path):
    plugin, _result, client, _runs, _root = logged
    run_id = plugin.child_run_ids[("small", 3)]
    assert [a.path for a in client.list_artifacts(run_id)] == ["notes"]
    local = client.download_artifacts(run_id, "notes", str(tmp_path))
    assert Path(local).read_text() == "small:3"
    failed = plugin.child_run_ids[("big", 1)]
    assert client.list_artifacts(failed) == []


def test_plugin_pickles_without_its_client(logged):
    plugin = logged[0]
    assert plugin._client is not None
    copy = pickle.loads(pickle.dumps(plugin))
    assert copy._client is None and copy.tracking_uri == plugin.tracking_uri


def test_hypothesis_metrics_names_metric_for_multi_metric_hypotheses():
    from crystallize.hypothesis import HypothesisResult

    hyp = HypothesisResult(
        "both", {"t": {"a": {"p_value": 0.2, "significant": False}, "b": {"p_value": float("nan")}}},
        ["t"], {}, ["a", "b"], None,
    )
    assert hypothesis_metrics([hyp]) == {"hyp.both.t.a.p_value": 0.2, "hyp.both.t.a.significant": 0.0}
    assert metric_key("hyp", "my name", "t", "p_value") == "hyp.my name.t.p_value"


def test_a_run_that_raised_closes_its_parent_as_failed(logged):
    from crystallize.exceptions import MissingMetricError

    _plugin, _result, client, _runs, root = logged
    uri = f"sqlite:///{root / 'mlflow.db'}"
    plugin = MlflowPlugin(
        tracking_uri=uri, experiment_name="mlflow-crash", html_report=False,
        artifact_location=(root / "crash-artifacts").as_uri(),
    )
    experiment = Experiment(
        datasource=noise(), pipeline=Pipeline([train()]), replicates=2, name="crash",
        hypotheses=[Hypothesis(welch_t_test(), "no_such_metric", name="typo")],
        plugins=[plugin, ArtifactPlugin(root_dir=root / "crash-data")],
    )
    with pytest.raises(MissingMetricError):
        experiment.run()
    crashed = plugin.parent_run_id
    assert client.get_run(crashed).info.status == "FAILED"
    experiment.run(hypotheses=[])
    assert client.get_run(crashed).info.status == "FAILED"
    assert client.get_run(plugin.parent_run_id).info.status == "FINISHED"


@pipeline_step()
def interrupted(data, ctx):
    if ctx["replicate"] == 1:
        raise KeyboardInterrupt
    return data, {"score": data}


def test_a_run_stopped_by_ctrl_c_closes_its_parent_as_killed(logged):
    _plugin, _result, client, _runs, root = logged
    plugin = MlflowPlugin(
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}", experiment_name="mlflow-ctrl-c",
        html_report=False, artifact_location=(root / "ctrl-c-artifacts").as_uri(),
    )
    experiment = Experiment(
        datasource=noise(), pipeline=Pipeline([interrupted()]), replicates=3, name="ctrl_c",
        plugins=[plugin, ArtifactPlugin(root_dir=root / "ctrl-c-data")],
    )
    with pytest.raises(KeyboardInterrupt):
        experiment.run()
    assert client.get_run(plugin.parent_run_id).info.status == "KILLED"


def test_unreachable_tracking_does_not_stop_the_experiment(caplog, tmp_path):
    def build(strict):
        return Experiment(
            datasource=noise(), pipeline=Pipeline([train()]), replicates=1,
            plugins=[MlflowPlugin(tracking_uri="nosuchscheme://nowhere", strict=strict),
                     ArtifactPlugin(root_dir=tmp_path / "data")],
            name="offline",
        )

    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = build(strict=False).run()
    assert result.metrics.baseline.metrics["score"]
    assert "MlflowPlugin could not start the MLflow parent run" in caplog.text
    with pytest.raises(Exception, match="nosuchscheme"):
        build(strict=True).run()


def test_missing_mlflow_names_the_extra(monkeypatch):
    import sys

    from crystallize.exceptions import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "mlflow", None)  # makes `import mlflow` fail
    with pytest.raises(OptionalDependencyError, match=r"pip install 'crystallize\[mlflow\]'"):
        _ = MlflowPlugin().client


def test_missing_mlflow_stops_the_run_even_when_not_strict(monkeypatch, tmp_path):
    import sys

    from crystallize.exceptions import OptionalDependencyError

    monkeypatch.setitem(sys.modules, "mlflow", None)
    experiment = Experiment(
        datasource=noise(), pipeline=Pipeline([train()]), replicates=1,
        plugins=[MlflowPlugin(strict=False), ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    with pytest.raises(OptionalDependencyError, match=r"crystallize\[mlflow\]"):
        experiment.run()


def test_symbolic_links_in_a_replicate_folder_are_not_uploaded(tmp_path):
    from crystallize.artifacts import ArtifactLocation
    from crystallize.plugins.mlflow import _files_in

    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOPSECRET", encoding="utf-8")
    folder = tmp_path / "data" / "exp" / "v0" / "baseline" / "0"
    (folder / "plots").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    (folder / "plots" / "loss.png").write_bytes(b"png")
    (folder / "input_link.txt").symlink_to(secret)
    (folder / "linked_dir").symlink_to(secret.parent, target_is_directory=True)
    files = _files_in(ArtifactLocation(tmp_path / "data", "exp", 0), "baseline", 0)
    assert [name for name, _ in files] == ["model.bin", "plots/loss.png"]
