"""RayExecution next to a cluster started with `ray start`, with RAY_ADDRESS, with the
dashboard's address, a refused connection, unpicklable context and resources the
cluster lacks. Tests marked ``ray`` need Ray (and some its CLI); the others do not."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    RayExecution,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.exceptions import ClusterConnectionError, ExperimentValidationError, PicklingError
from crystallize.plugins.execution.ray import warn_unavailable_resources
from crystallize.store import list_runs


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": float(data + ctx["replicate"])}


def _experiment(execution, tmp_path, name="fixes", replicates=3, **kwargs):
    return Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), replicates=replicates, name=name,
        plugins=[SeedPlugin(seed=1), execution, ArtifactPlugin(root_dir=tmp_path / "data")], **kwargs,
    )


def _nothing_stored(tmp_path, name="fixes"):
    data = tmp_path / "data"
    return not (data / "crystallize.db").exists() or list_runs(data, name) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fake_ray(init):
    """A stand-in ``ray`` module (not initialized; ``init`` replaces ``ray.init``)."""

    class RayError(Exception):
        pass

    fake = types.ModuleType("ray")
    fake.is_initialized = lambda: False
    fake.init = init
    fake.exceptions = types.SimpleNamespace(RayError=RayError)
    return fake


# -- the dashboard's http:// address is not a cluster address ------------------------------
@pytest.mark.parametrize("address", ["http://127.0.0.1:8265", "https://head.example.org:8265", "HTTP://head:8265"])
def test_dashboard_address_is_refused_when_the_plugin_is_made(address):
    with pytest.raises(ExperimentValidationError) as info:
        RayExecution(address=address)
    message = str(info.value)
    assert "dashboard" in message and "Jobs API" in message
    assert "'<head-ip>:6379'" in message and "'ray://<head-ip>:10001'" in message


# -- RAY_ADDRESS: address=None joins the cluster it names ------------------------------------
def test_address_none_joins_the_cluster_in_ray_address(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # no Ray session in this process
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")  # nobody listens there
    with pytest.raises(ClusterConnectionError, match="Cannot reach a Ray cluster at '127.0.0.1:"):
        _experiment(RayExecution(), tmp_path).run()
    assert _nothing_stored(tmp_path)


def test_dashboard_address_in_ray_address_is_refused_before_the_run_is_stored(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:8265")
    with pytest.raises(ExperimentValidationError, match=r"^The RAY_ADDRESS environment variable 'http://127\.0\.0\.1:8265' is the Ray dashboard"):
        _experiment(RayExecution(), tmp_path).run()
    assert _nothing_stored(tmp_path)


# -- a refused connection says what may be wrong ----------------------------------------------
def test_refused_driver_message_names_the_likely_causes(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise fake.exceptions.RayError("Failed to connect to Ray cluster at 10.0.0.5:6379")

    fake = _fake_ray(refuse)
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(ClusterConnectionError) as info:
        _experiment(RayExecution(address="auto"), tmp_path).run()
    message = str(info.value)
    assert message.startswith(
        "Cannot connect to a Ray cluster at 'auto': Failed to connect to Ray cluster at 10.0.0.5:6379. "
    )
    assert "`ray status` on the head node" in message
    assert "up but refuses this driver" in message and "auth token" in message
    assert "Ray or Python version" in message and "Ray's log lines printed above" in message
    assert _nothing_stored(tmp_path)


def test_failed_local_start_message_is_a_sentence(monkeypatch):
    def fail(**kwargs):
        raise ConnectionError("raylet did not start")

    monkeypatch.setitem(sys.modules, "ray", _fake_ray(fail))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ClusterConnectionError, match=r"^Cannot start a local Ray instance: raylet did not start\. Ray's log"):
        RayExecution()._connect()


# -- an unpicklable initial_ctx value names the executor in use -------------------------------
class _Conn:
    def __reduce__(self):
        raise TypeError("cannot pickle '_Conn' object")


@pytest.mark.parametrize(
    ("execution", "wording"),
    [
        (lambda: ParallelExecution(max_workers=2, executor_type="process"),
         "Process execution must send the experiment to worker processes, but context key 'conn'"),
        (lambda: RayExecution(),
         "Ray execution must send the experiment to Ray workers, but context key 'conn'"),
    ],
    ids=["process", "ray"],
)
def test_unpicklable_context_names_the_executor(tmp_path, monkeypatch, execution, wording):
    monkeypatch.setitem(sys.modules, "ray", _fake_ray(None))  # Ray "installed", not started
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(PicklingError) as info:
        _experiment(execution(), tmp_path, initial_ctx={"conn": _Conn()}).run()
    assert str(info.value).startswith(wording)
    assert _nothing_stored(tmp_path)


# -- resources the cluster lacks -------------------------------------------------------------
def test_a_resource_the_cluster_lacks_gives_a_warning():
    with pytest.warns(RuntimeWarning) as caught:
        warn_unavailable_resources(
            {"num_cpus": 1, "num_gpus": 0.5, "resources": {"tpu": 2}, "accelerator_type": "A100"},
            {"CPU": 2.0, "memory": 1e9, "tpu": 1.0},
        )
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    gpu, tpu, accelerator = messages
    assert gpu.startswith("RayExecution: each replicate asks for num_gpus=0.5 (resources_per_replicate), "
                          "but the Ray cluster has 0 of resource 'GPU' in all.")
    assert "waits forever" in gpu
    assert "resources={'tpu': 2}" in tpu and "has 1 of resource 'tpu'" in tpu
    assert "accelerator_type='A100'" in accelerator and "'accelerator_type:A100'" in accelerator


def test_resources_the_cluster_has_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unavailable_resources({"num_cpus": 2, "num_gpus": 0, "memory": 10}, {"CPU": 2.0, "memory": 1e9})
        warn_unavailable_resources({}, {})


@pytest.mark.ray
def test_a_run_asking_for_a_gpu_on_a_cpu_only_instance_warns_before_tasks_are_sent(tmp_path, monkeypatch):
    """The warning comes before any task is submitted: made an error, it ends the run at
    once instead of leaving tasks waiting forever for a GPU."""
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    plugin = RayExecution(num_cpus=1, resources_per_replicate={"num_gpus": 1})
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="RayExecution: each replicate", category=RuntimeWarning)
            with pytest.raises(RuntimeWarning, match=r"num_gpus=1 .* has 0 of resource 'GPU'"):
                _experiment(plugin, tmp_path, name="gpu").run()
    finally:
        ray.shutdown()


# -- address=None beside a cluster started with `ray start` -----------------------------------
def _ray_cli() -> str | None:
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else shutil.which("ray")


@pytest.fixture
def head_node(monkeypatch):
    """A head node started with `ray start --head` in a Ray temp dir of its own (so no other
    Ray user of this machine is affected); stopped, with its processes, afterwards."""
    pytest.importorskip("ray")
    cli = _ray_cli()
    if cli is None:
        pytest.skip("the `ray` command is not available")
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # short: Ray's socket paths must stay short
    monkeypatch.setenv("RAY_TMPDIR", temp)  # where `ray start` records its address, and ray.init looks
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = _free_port()
    head = subprocess.Popen(
        [cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false", "--block"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address_file = Path(temp) / "ray" / "ray_current_cluster"
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.skip("`ray start --head` did not start")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # the head's process group: what it left behind
            os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.ray
def test_address_none_starts_a_local_instance_beside_a_running_cluster(tmp_path, head_node):
    import ray

    assert not ray.is_initialized()
    try:
        result = _experiment(RayExecution(num_cpus=1), tmp_path, name="beside", replicates=3).run()
        assert ray.cluster_resources().get("CPU") == 1
        assert ray.get_runtime_context().gcs_address.rpartition(":")[2] != head_node.rpartition(":")[2]
    finally:
        ray.shutdown()
    assert not result.errors
    assert result.metrics.baseline.metrics["value"] == [1.0, 2.0, 3.0]
    (run,) = list_runs(tmp_path / "data", "beside")
    assert (run.status, run.n_records) == ("completed", 3)
