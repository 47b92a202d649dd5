"""MlflowPlugin with awkward names, failing MLflow calls, apply/debug, resume, deleted
experiments and unreachable servers (against real local MLflow stores)."""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore:The ..noload.. loader strategy:DeprecationWarning")

from mlflow import MlflowClient  # noqa: E402
from mlflow.utils.validation import _validate_metric_name, _validate_param_name  # noqa: E402

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
from crystallize.plugins.mlflow import MlflowPlugin, metric_key  # noqa: E402
from crystallize.stats import welch_t_test  # noqa: E402

LONG = "validation_accuracy_" * 13  # 260 characters: over MLflow's 250 for a key
ODD_NAMES = ["acc@1", "acc#1", "lr (log)", "k" * 300, "a//b", "/x", "x/", "..", ".", "", "ok.name"]


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    """One sqlite store for the module (creating one costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow-names') / 'mlflow.db'}"


def _runs(uri, name):
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(name)
    return client, ([] if found is None else client.search_runs([found.experiment_id], max_results=500))


@data_source
def replicate_no(ctx):
    return float(ctx["replicate"])


@pipeline_step()
def odd_metrics(data, ctx, *, delta=0.0):
    return data, {"acc@1": 0.5, "acc#1": 0.9, LONG: data + delta, "plain": data + delta}


# -- keys ---------------------------------------------------------------------------------
def test_cleaned_keys_are_valid_for_mlflow_unique_and_stable():
    keys = [metric_key(name) for name in ODD_NAMES]
    for key in keys:
        _validate_metric_name(key)
        _validate_param_name(key)
        assert 0 < len(key) <= 250
    assert len(set(keys)) == len(keys), "two names must not share a key"
    assert keys == [metric_key(name) for name in ODD_NAMES], "the same name always gives the same key"
    assert metric_key("ok.name") == "ok.name" and metric_key("loss") == "loss", "valid names are kept"
    assert metric_key("acc@1").startswith("acc_1-")
    long_a, long_b = metric_key("m" * 300 + "a"), metric_key("m" * 300 + "b")
    assert long_a != long_b and long_a.startswith("m" * 200) and len(long_a) == 250
    long_hyp = metric_key("hyp", "h" * 300, "t", "p_value")
    assert len(long_hyp) == 250 and long_hyp.endswith(".p_value"), "the field stays last"


def test_parts_are_cleaned_one_by_one_so_the_field_stays_last():
    key = metric_key("hyp", "my name!", "t", "p_value")
    assert key.startswith("hyp.my name_-") and key.endswith(".t.p_value")
    assert metric_key("hyp", "h", "t", "p_value") == "hyp.h.t.p_value"


def test_odd_context_keys_and_metric_names_are_all_logged(uri):
    plugin = MlflowPlugin(tracking_uri=uri, experiment_name="odd-names", html_report=False)
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([odd_metrics()]),
        treatments=[treatment("t", {"delta": 1.0})],
        hypotheses=[Hypothesis(welch_t_test(), [LONG, "plain"], name="h" * 200)],
        initial_ctx={"lr (log)": 0.3, "k" * 300: 1, "lr": 0.1},
        replicates=3, name="odd", plugins=[plugin, SeedPlugin(seed=1), ArtifactPlugin(root_dir=None)],
    )
    experiment.run()
    client, runs = _runs(uri, "odd-names")
    assert {r.info.status for r in runs} == {"FINISHED"}, "no run left RUNNING or FAILED"
    child = client.get_run(plugin.child_run_ids[("t", 0)])
    assert child.data.params[metric_key("lr (log)")] == "0.3"
    assert child.data.params[metric_key("k" * 300)] == "1"
    assert child.data.params["lr"] == "0.1"
    assert child.data.metrics[metric_key("acc@1")] == 0.5
    assert child.data.metrics[metric_key("acc#1")] == 0.9
    assert child.data.metrics[metric_key(LONG)] == 1.0
    parent = client.get_run(plugin.parent_run_id)
    p_values = [k for k in parent.data.metrics if k.endswith(".p_value")]
    assert len(p_values) == 2 and all(len(k) <= 250 for k in p_values)
    assert {a.path for a in client.list_artifacts(plugin.parent_run_id)} == {"hypotheses.json", "report.txt"}


# -- failures while logging ---------------------------------------------------------------
@pipeline_step()
def writes_notes(data, ctx, *, notes: Artifact):
    notes.write(f"{ctx['condition']}:{ctx['replicate']}")
    return data, {"score": data}


class _Refusing:
    """An MlflowClient whose named methods raise."""

    def __init__(self, client, *names):
        self._client, self._names = client, names

    def __getattr__(self, name):
        if name in self._names:
            def refuse(*args, **kwargs):
                raise OSError(f"{name} refused")
            return refuse
        return getattr(self._client, name)


def test_a_failure_logging_a_replicate_fails_its_run_and_warns_once(uri, tmp_path, caplog):
    plugin = MlflowPlugin(tracking_uri=uri, experiment_name="upload-fails", html_report=False)
    plugin._client = _Refusing(MlflowClient(tracking_uri=uri), "log_artifact")
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([writes_notes()]), replicates=3, name="upload_fails",
        plugins=[plugin, ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        experiment.run()
    client, runs = _runs(uri, "upload-fails")
    children = [r for r in runs if "crystallize.condition" in r.data.tags]
    assert len(children) == 3 and {r.info.status for r in children} == {"FAILED"}
    assert client.get_run(plugin.parent_run_id).info.status == "FINISHED"
    warned = [r.getMessage() for r in caplog.records if "log_artifact refused" in r.getMessage()]
    assert len(warned) == 1, warned


def test_a_failure_finishing_fails_the_parent_run(uri, caplog):
    plugin = MlflowPlugin(tracking_uri=uri, experiment_name="finish-fails", html_report=False)
    plugin._client = _Refusing(MlflowClient(tracking_uri=uri), "log_text")
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([shifted()]), replicates=2, name="finish_fails",
        plugins=[plugin, ArtifactPlugin(root_dir=None)],
    )
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        experiment.run()
    assert MlflowClient(tracking_uri=uri).get_run(plugin.parent_run_id).info.status == "FAILED"
    assert "could not finish the MLflow parent run: OSError: log_text refused" in caplog.text


# -- artifacts of failed replicates -------------------------------------------------------
@pipeline_step()
def writes_then_fails(data, ctx, *, notes: Artifact):
    notes.write(f"partial {ctx['replicate']}")
    if ctx["replicate"] == 1:
        raise RuntimeError("diverged")
    return data, {"score": data}


def test_files_written_before_a_step_failed_are_uploaded(uri, tmp_path):
    plugin = MlflowPlugin(tracking_uri=uri, experiment_name="failed-files", html_report=False)
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([writes_then_fails()]), replicates=2, name="failed_files",
        plugins=[plugin, ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    experiment.run()
    client = MlflowClient(tracking_uri=uri)
    failed = plugin.child_run_ids[("baseline", 1)]
    assert client.get_run(failed).info.status == "FAILED"
    assert [a.path for a in client.list_artifacts(failed)] == ["notes"]
    local = client.download_artifacts(failed, "notes", str(tmp_path / "dl"))
    assert Path(local).read_text() == "partial 1"


# -- apply / debug ------------------------------------------------------------------------
@pipeline_step()
def shifted(data, ctx, *, shift=0.0):
    return data + shift, {"score": data + shift}


def test_apply_and_debug_log_nothing(uri):
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([shifted()]), replicates=4,
        treatments=[treatment("up", {"shift": 2.0})],
        plugins=[MlflowPlugin(tracking_uri=uri, experiment_name="apply-debug"), ArtifactPlugin(root_dir=None)],
        name="served",
    )
    assert experiment.apply(treatment="up", data=1.0) == 3.0
    experiment.debug(treatment="up", console=_quiet_console())
    assert _runs(uri, "apply-debug")[1] == []
    experiment.run()
    assert len(_runs(uri, "apply-debug")[1]) == 1 + 2 * 4, "run() still logs"


def _quiet_console():
    from rich.console import Console

    return Console(file=io.StringIO())


# -- resume -------------------------------------------------------------------------------
FLAKY = {"fail": True}


@pipeline_step()
def flaky(data, ctx):
    if FLAKY["fail"] and ctx["replicate"] == 1:
        raise RuntimeError("transient")
    return data, {"score": data}


def test_a_resume_is_a_second_parent_tagged_with_the_resumed_run(uri, tmp_path):
    plugin = MlflowPlugin(tracking_uri=uri, experiment_name="resumed", html_report=False)
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([flaky()]), replicates=3, name="resumed",
        plugins=[plugin, SeedPlugin(seed=2), ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    FLAKY["fail"] = True
    first = experiment.run()
    first_parent = plugin.parent_run_id
    FLAKY["fail"] = False
    second = experiment.run(strategy="resume")
    assert second.run_id == first.run_id
    client = MlflowClient(tracking_uri=uri)
    tags = client.get_run(plugin.parent_run_id).data.tags
    assert tags["crystallize.resume_of"] == first.run_id
    assert tags["crystallize.run_id"] == first.run_id
    assert f"Resume of run {first.run_id}" in tags["mlflow.note.content"]
    assert "crystallize.resume_of" not in client.get_run(first_parent).data.tags
    both = client.search_runs(
        [client.get_experiment_by_name("resumed").experiment_id],
        filter_string=f"tags.\"crystallize.run_id\" = '{first.run_id}' and tags.\"crystallize.kind\" = 'experiment'",
    )
    assert {r.info.run_id for r in both} == {first_parent, plugin.parent_run_id}, "as docs/mlflow.md says"
    assert sorted(plugin.child_run_ids) == [("baseline", 1)], "only the recomputed replicate"


# -- deleted experiment -------------------------------------------------------------------
def test_a_deleted_mlflow_experiment_is_named_with_what_to_do(uri, caplog):
    client = MlflowClient(tracking_uri=uri)
    client.delete_experiment(client.create_experiment("binned"))

    def build(strict):
        return Experiment(
            datasource=replicate_no(), pipeline=Pipeline([shifted()]), replicates=1, name="binned",
            plugins=[MlflowPlugin(tracking_uri=uri, strict=strict), ArtifactPlugin(root_dir=None)],
        )

    with pytest.raises(Exception, match=r"MLflow experiment 'binned' is deleted.*restore_experiment.*experiment_name="):
        build(strict=True).run()
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        build(strict=False).run()
    assert "MLflow experiment 'binned' is deleted" in caplog.text
    assert "'active' state" not in caplog.text


# -- unreachable server -------------------------------------------------------------------
@pytest.mark.timeout(90)
def test_an_unreachable_server_delays_the_run_by_seconds_not_minutes(caplog, monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")
    experiment = Experiment(
        datasource=replicate_no(), pipeline=Pipeline([shifted()]), replicates=1, name="offline",
        plugins=[MlflowPlugin(tracking_uri="http://127.0.0.1:9"), ArtifactPlugin(root_dir=None)],
    )
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        experiment.run()
    assert time.perf_counter() - started < 30
    assert "MlflowPlugin could not start the MLflow parent run" in caplog.text
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ, "restored"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
