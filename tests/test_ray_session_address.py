"""RayExecution(address=...) while a Ray session already runs in this process.

Ray keeps one session per process: an explicit address is used only when the running
session is the one it asks for, and is otherwise refused before the run is stored
(instead of the run silently going to the running session)."""

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
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from crystallize import (  # noqa: E402
    ArtifactPlugin,
    Experiment,
    Pipeline,
    RayExecution,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.exceptions import ClusterConnectionError  # noqa: E402
from crystallize.plugins.execution import ray_address  # noqa: E402
from crystallize.store import list_runs  # noqa: E402

# On a 2-core machine busy with other work, Ray's default health checks may declare the
# local node dead, which ends this driver (and pytest with it): be lenient.
LENIENT = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": float(data + ctx["replicate"])}


def _experiment(execution, tmp_path, name="session", replicates=2):
    return Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), replicates=replicates, name=name,
        plugins=[SeedPlugin(seed=1), execution, ArtifactPlugin(root_dir=tmp_path / "data")],
    )


def _nothing_stored(tmp_path, name="session"):
    data = tmp_path / "data"
    return not (data / "crystallize.db").exists() or list_runs(data, name) == []


def _stored(tmp_path, name="session"):
    return [(run.status, run.n_records) for run in list_runs(tmp_path / "data", name)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gcs() -> str:
    return ray.get_runtime_context().gcs_address


# -- a local instance an earlier RayExecution run started --------------------------------------
_LOCAL: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _shutdown_at_the_end():
    yield
    ray.shutdown()


@pytest.fixture
def local_session(tmp_path_factory, monkeypatch):
    """The local Ray instance a first RayExecution() run in this process started (started
    once for the module; again if a test ended it). Yields its GCS address."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if not (ray.is_initialized() and _LOCAL.get("gcs") == _gcs()):
        ray.shutdown()
        first = RayExecution(num_cpus=2, init_kwargs={"log_to_driver": False, "_system_config": LENIENT})
        result = _experiment(first, tmp_path_factory.mktemp("first"), name="first").run()
        assert not result.errors
        _LOCAL["gcs"] = _gcs()
    return _LOCAL["gcs"]


def _refused(execution, tmp_path, session_gcs):
    with pytest.raises(ClusterConnectionError) as info:
        _experiment(execution, tmp_path).run()
    assert _nothing_stored(tmp_path)
    assert ray.is_initialized() and _gcs() == session_gcs  # the running session is left alone
    message = str(info.value)
    assert message.startswith(f"RayExecution(address={execution.address!r}) asks for ")
    assert "ray.shutdown()" in message and "address=None" in message
    return message


@pytest.mark.ray
def test_unreachable_address_after_a_local_run_is_refused_before_the_run_is_stored(tmp_path, local_session):
    address = f"127.0.0.1:{_free_port()}"  # nobody listens there
    message = _refused(RayExecution(address=address), tmp_path, local_session)
    assert f"the Ray cluster at {address!r}" in message
    assert f"a local Ray instance started in this process (GCS at {local_session})" in message
    assert "one session per process" in message


@pytest.mark.ray
def test_auto_without_a_ray_start_cluster_is_refused(tmp_path, local_session, monkeypatch):
    empty = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # no `ray start` recorded here
    monkeypatch.setenv("RAY_TMPDIR", empty)
    try:
        message = _refused(RayExecution(address="auto"), tmp_path, local_session)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    assert "the cluster started with `ray start` on this machine (none is recorded)" in message


@pytest.mark.ray
def test_ray_client_address_with_a_local_session_is_refused(tmp_path, local_session):
    message = _refused(RayExecution(address="ray://10.255.255.1:10001"), tmp_path, local_session)
    assert "a Ray Client connection to 'ray://10.255.255.1:10001'" in message


@pytest.mark.ray
def test_an_address_whose_session_cannot_be_told_is_refused(tmp_path, local_session):
    message = _refused(RayExecution(address="anyscale://my-cluster"), tmp_path, local_session)
    assert "cannot tell whether that is the session asked for" in message


@pytest.mark.ray
def test_auto_with_ray_address_naming_another_cluster_is_refused(tmp_path, local_session, monkeypatch):
    address = f"127.0.0.1:{_free_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    message = _refused(RayExecution(address="auto"), tmp_path, local_session)
    assert f"the Ray cluster at {address!r} (the RAY_ADDRESS environment variable)" in message


@pytest.mark.ray
def test_local_runs_on_the_instance_this_process_started(tmp_path, local_session):
    result = _experiment(RayExecution(address="local"), tmp_path).run()
    assert not result.errors and result.metrics.baseline.metrics["value"] == [1.0, 2.0]
    assert _gcs() == local_session
    assert _stored(tmp_path) == [("completed", 2)]


@pytest.mark.ray
@pytest.mark.parametrize("host", ["as reported", "127.0.0.1", "localhost"])
def test_the_running_sessions_own_gcs_address_runs_on_it(tmp_path, local_session, host):
    port = local_session.rpartition(":")[2]
    address = local_session if host == "as reported" else f"{host}:{port}"
    result = _experiment(RayExecution(address=address), tmp_path).run()
    assert not result.errors
    assert _gcs() == local_session
    assert _stored(tmp_path) == [("completed", 2)]


@pytest.mark.ray
def test_auto_with_ray_address_naming_the_running_session_runs_on_it(tmp_path, local_session, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", local_session)  # as ray.init("auto") reads it
    result = _experiment(RayExecution(address="auto"), tmp_path).run()
    assert not result.errors and _gcs() == local_session


@pytest.mark.ray
def test_address_none_uses_the_running_session_whatever_ray_address_says(tmp_path, local_session, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    result = _experiment(RayExecution(), tmp_path).run()
    assert not result.errors and _gcs() == local_session
    assert _stored(tmp_path) == [("completed", 2)]


# -- next to a cluster started with `ray start` ------------------------------------------------
def _ray_cli() -> str | None:
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else shutil.which("ray")


@pytest.fixture(scope="module")
def head_node():
    """A head node started with `ray start --head` in a Ray temp dir of its own (RAY_TMPDIR,
    so no other Ray user of this machine is affected), for the rest of the module."""
    cli = _ray_cli()
    if cli is None:
        pytest.skip("the `ray` command is not available")
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # short: Ray's socket paths must stay short
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_TMPDIR", temp)  # where `ray start` records its address, and "auto" looks
        patch.delenv("RAY_ADDRESS", raising=False)
        port = _free_port()
        head = subprocess.Popen(
            [cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false", "--block"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        address_file = Path(temp) / "ray" / "ray_current_cluster"
        try:
            deadline = time.monotonic() + 90
            while not address_file.exists():
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("`ray start --head` did not start")
                time.sleep(0.5)
            yield f"127.0.0.1:{port}"
        finally:
            ray.shutdown()  # a session joined to it, before it goes
            head.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                head.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):  # the head's process group: what it left behind
                os.killpg(head.pid, signal.SIGKILL)
            head.wait()
            shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.ray
@pytest.mark.slow
def test_cluster_addresses_after_a_local_run_are_refused_while_the_cluster_runs(tmp_path, head_node, local_session):
    port = head_node.rpartition(":")[2]
    message = _refused(RayExecution(address="auto"), tmp_path, local_session)
    assert "the cluster started with `ray start` on this machine (at " in message
    assert message.split("(at ", 1)[1].split(")", 1)[0].endswith(f":{port}")
    message = _refused(RayExecution(address=head_node), tmp_path, local_session)
    assert f"the Ray cluster at {head_node!r}" in message


@pytest.mark.ray
@pytest.mark.slow
def test_own_ray_init_on_the_cluster_then_the_same_address_runs_there(tmp_path, head_node):
    from crystallize.plugins.execution.ray import local_runtime_env

    ray.shutdown()
    # The user's own session, on the cluster (its workers import this module as we do).
    ray.init(address="auto", log_to_driver=False, runtime_env=local_runtime_env())
    try:
        on_cluster = _gcs()
        assert on_cluster.rpartition(":")[2] == head_node.rpartition(":")[2]
        for name, address in [("auto", "auto"), ("hostport", head_node)]:
            result = _experiment(RayExecution(address=address), tmp_path, name=name).run()
            assert not result.errors and result.metrics.baseline.metrics["value"] == [1.0, 2.0]
            assert _gcs() == on_cluster and ray.cluster_resources().get("CPU") == 1  # the head's one CPU
            assert _stored(tmp_path, name) == [("completed", 2)]
        message = _refused(RayExecution(address="local"), tmp_path, on_cluster)
        assert "asks for a new local Ray instance" in message
        assert f"connected to the Ray cluster at {on_cluster!r}" in message
    finally:
        ray.shutdown()


# -- Ray Client sessions (told apart without a Ray Client server) ---------------------------
def _client_session(monkeypatch, conn_str):
    from ray.util.client import ray as client

    monkeypatch.setattr(client, "is_connected", lambda: True)
    worker = types.SimpleNamespace(_conn_str=conn_str)
    monkeypatch.setattr(client, "get_context", lambda: types.SimpleNamespace(client_worker=worker))


def test_a_ray_client_session_is_recognised(monkeypatch):
    _client_session(monkeypatch, "10.0.0.5:10001")
    assert ray_address.running_session(ray) == ray_address.RaySession("client", "10.0.0.5:10001")


@pytest.mark.parametrize("address", ["ray://10.0.0.5:10001", "ray://10.0.0.5", " ray://10.0.0.5:10001 "])
def test_ray_client_address_of_the_running_client_session_is_accepted(monkeypatch, address):
    _client_session(monkeypatch, "10.0.0.5:10001")
    ray_address.check_running_session(ray, address)


@pytest.mark.parametrize(
    "address, asked",
    [
        ("ray://10.0.0.6:10001", "a Ray Client connection to 'ray://10.0.0.6:10001'"),
        ("ray://10.0.0.5:10002", "a Ray Client connection to 'ray://10.0.0.5:10002'"),
        ("10.0.0.5:6379", "the Ray cluster at '10.0.0.5:6379'"),
        ("local", "a new local Ray instance"),
    ],
)
def test_other_addresses_with_a_ray_client_session_are_refused(monkeypatch, address, asked):
    _client_session(monkeypatch, "10.0.0.5:10001")
    with pytest.raises(ClusterConnectionError) as info:
        ray_address.check_running_session(ray, address)
    message = str(info.value)
    assert f"asks for {asked}, but this process already has a Ray session: a Ray Client connection to 'ray://10.0.0.5:10001'" in message


def test_a_ray_client_session_whose_server_cannot_be_read_is_refused(monkeypatch):
    _client_session(monkeypatch, None)
    with pytest.raises(ClusterConnectionError, match="a Ray Client connection. Crystallize cannot tell whether"):
        ray_address.check_running_session(ray, "ray://10.0.0.5:10001")


# -- "auto" with no cluster recorded by `ray start` (told apart without a cluster) ------------
@pytest.fixture
def nothing_recorded(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(ray._private.services, "find_bootstrap_address", lambda temp_dir: None)
    monkeypatch.setattr(ray._private.services, "find_gcs_addresses", lambda: frozenset({"10.0.0.9:6379"}))


def test_auto_accepts_a_joined_instance_ray_would_find_without_a_recorded_cluster(monkeypatch, nothing_recorded):
    monkeypatch.setattr(ray_address, "running_session", lambda ray: ray_address.RaySession("joined", "10.0.0.9:6379"))
    ray_address.check_running_session(ray, "auto")  # what ray.init("auto") falls back to


@pytest.mark.parametrize("kind, address", [("joined", "10.0.0.8:6379"), ("local", "10.0.0.9:6379")])
def test_auto_refuses_other_sessions_without_a_recorded_cluster(monkeypatch, nothing_recorded, kind, address):
    session = ray_address.RaySession(kind, address)
    monkeypatch.setattr(ray_address, "running_session", lambda ray: session)
    with pytest.raises(ClusterConnectionError, match=r"\(none is recorded\), but this process already has a Ray session"):
        ray_address.check_running_session(ray, "auto")
