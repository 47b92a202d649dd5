"""RayExecution when the driver and its workers do not share a working directory or a
cluster connection: artifact paths, connection failures, worker caches, cancellation."""

from __future__ import annotations

import gc
import os
import pickle
import random
import time
import weakref
from pathlib import Path

import pytest

from crystallize import (
    Artifact,
    Experiment,
    Pipeline,
    RayExecution,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.exceptions import ClusterConnectionError
from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.store import list_runs


@data_source
def draws(ctx, n=3):
    return [random.random() for _ in range(n)]


@pipeline_step()
def write_elsewhere(data, ctx, out: Artifact, *, elsewhere: str = ""):
    """Write an artifact from another working directory (as a Ray worker or a process
    worker that changed directory would)."""
    here = os.getcwd()
    if elsewhere:
        os.chdir(elsewhere)
    try:
        out.write("x")
    finally:
        os.chdir(here)
    return data, {"cwd": os.getcwd()}


@pipeline_step()
def slow_after_two(data, ctx):
    if ctx["replicate"] >= 2:  # still running when the run is stopped: 30 s in short sleeps
        for _ in range(600):
            time.sleep(0.05)
    return data, {"total": sum(data)}


def _artifact_experiment(execution=None, name="paths", **step_kwargs):
    plugins = [SeedPlugin(seed=1), ArtifactPlugin(root_dir="data")]
    if execution is not None:
        plugins.append(execution)
    return Experiment(
        datasource=draws(), pipeline=Pipeline([write_elsewhere(out=Artifact("o.txt"), **step_kwargs)]),
        plugins=plugins, replicates=2, name=name,
    )


# -- artifact location is absolute (resolved by the driver) --------------------------------
def test_relative_root_dir_is_resolved_in_the_driver(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _artifact_experiment(elsewhere=str(elsewhere)).run()
    assert not result.errors
    for rep in range(2):
        assert (tmp_path / "data" / "paths" / "v0" / "baseline" / str(rep) / "o.txt").read_text() == "x"
    assert not (elsewhere / "data").exists()


# -- connection failures happen before the run is recorded --------------------------------
def _failing_init(exc):
    def init(*args, **kwargs):
        raise exc
    return init


def _auth_error():
    ray = pytest.importorskip("ray")
    return ray.exceptions.AuthenticationError("InvalidAuthToken: Authentication token is missing")


@pytest.mark.parametrize(
    "error", [lambda: ConnectionError("Could not find any running Ray instance."), _auth_error],
    ids=["no-cluster", "auth"],
)
def test_auto_address_without_a_cluster_fails_before_the_run_is_stored(tmp_path, monkeypatch, error):
    ray = pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    good = _artifact_experiment(name="conn").run()  # the last good run, with files in v0
    assert not good.errors
    kept = tmp_path / "data" / "conn" / "v0" / "baseline" / "0" / "o.txt"
    assert kept.exists()

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", _failing_init(error()))
    with pytest.raises(ClusterConnectionError, match="'auto'"):
        _artifact_experiment(RayExecution(address="auto"), name="conn").run()
    runs = list_runs(tmp_path / "data", "conn")
    assert [(r.run_id, r.status) for r in runs] == [(good.run_id, "completed")]
    assert kept.exists()  # the last good run's artifacts are left alone


# -- workers keep only the latest replicate functions --------------------------------------
class _Held:
    pass


class _Runner:
    """A picklable replicate function holding an object (as factories hold resources)."""

    def __init__(self):
        self.held = _Held()

    def __call__(self, rep):
        return id(self.held)


def test_worker_cache_keeps_only_the_latest_payloads(monkeypatch):
    pytest.importorskip("ray")  # results go back pickled by ray's cloudpickle
    from crystallize.plugins.execution import ray as ray_module

    monkeypatch.setattr(ray_module, "_WORKER_RUNNERS", type(ray_module._WORKER_RUNNERS)())
    refs = []
    for i in range(5):
        payload = pickle.dumps(_Runner())
        (held_id,) = pickle.loads(ray_module._run_batch(f"digest{i}", payload, [0]))  # sent pickled
        held = ray_module._WORKER_RUNNERS[f"digest{i}"].held
        assert id(held) == held_id
        refs.append(weakref.ref(held))
        del held
        assert pickle.loads(ray_module._run_batch(f"digest{i}", b"not used: cached", [1])) == [held_id]
    gc.collect()
    assert len(ray_module._WORKER_RUNNERS) <= ray_module.WORKER_CACHE_SIZE < 5
    alive = [ref() is not None for ref in refs]
    assert alive == [False] * (5 - ray_module.WORKER_CACHE_SIZE) + [True] * ray_module.WORKER_CACHE_SIZE


# -- with a real (in-process) Ray instance -------------------------------------------------
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from crystallize.plugins.execution.ray import local_runtime_env

    lenient = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=local_runtime_env(),
             _system_config=lenient)
    yield ray
    ray.shutdown()


@pytest.mark.ray
def test_ray_workers_write_artifacts_under_the_drivers_data_dir(tmp_path, monkeypatch, local_ray):
    worker_cwd = os.getcwd()  # Ray started here; its workers run in this directory
    monkeypatch.chdir(tmp_path)
    name = f"ray-paths-{os.getpid()}"
    try:
        result = _artifact_experiment(RayExecution(batch_size=1), name=name).run()
        assert not result.errors
        assert set(result.metrics.baseline.metrics["cwd"]) != {str(tmp_path)}
        for rep in range(2):
            assert (tmp_path / "data" / name / "v0" / "baseline" / str(rep) / "o.txt").exists()
    finally:  # without the fix they land in the workers' directory
        import shutil

        shutil.rmtree(Path(worker_cwd) / "data" / name, ignore_errors=True)


@pytest.mark.ray
def test_stopping_a_run_interrupts_its_tasks_without_ray_cancel(tmp_path, monkeypatch, local_ray):
    """A stopped run's running replicates are interrupted and its queued tasks return,
    so the cluster is free at once, without ``ray.cancel`` (which can abort the driver
    when a task completes at that moment)."""
    ray = local_ray
    calls = []
    monkeypatch.setattr(ray, "cancel", lambda ref, **kwargs: calls.append(ref))
    monkeypatch.chdir(tmp_path)
    exp = Experiment(datasource=draws(), pipeline=Pipeline([slow_after_two()]), plugins=[
        SeedPlugin(seed=1), RayExecution(batch_size=1)], replicates=30, name="ray-cancel")
    for count, _record in enumerate(exp.stream(), start=1):
        if count == 2:
            break
    stopped = time.monotonic()

    @ray.remote(num_cpus=2)
    def whole_cluster():
        return "free"

    assert ray.get(whole_cluster.remote(), timeout=20) == "free"  # not after 30 s of sleeps
    assert time.monotonic() - stopped < 20
    assert calls == []
    (run,) = list_runs("data", "ray-cancel")
    assert run.status == "cancelled" and run.n_records < 30
