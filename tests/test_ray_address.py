"""Cluster addresses are checked before a run depends on them (no Ray needed here)."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import (
    ClusterConnectionError,
    ExperimentValidationError,
    OptionalDependencyError,
)
from crystallize.plugins.execution.ray import RayExecution
from crystallize.plugins.execution.ray_address import check_reachable, cluster_endpoint
from crystallize.store import list_runs


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "endpoint"),
    [
        ("10.0.0.5:6379", ("10.0.0.5", 6379)),
        ("head.example.org:6380", ("head.example.org", 6380)),
        ("ray://head:10002", ("head", 10002)),
        ("ray://head", ("head", 10001)),
        ("[::1]:6379", ("::1", 6379)),
        ("auto", None),
        ("local", None),
        ("anyscale://my-cluster", None),  # a Ray Client plugin: Ray's to interpret
    ],
)
def test_cluster_endpoint_understands_ray_addresses(address, endpoint):
    assert cluster_endpoint(address) == endpoint


@pytest.mark.parametrize("address", ["::bad::", "localhost", "host:port", "host:99999", "ray://", "", "h:1/x"])
def test_malformed_address_is_refused_when_the_plugin_is_made(address):
    with pytest.raises(ExperimentValidationError, match=r"not a cluster address: use 'auto'"):
        RayExecution(address=address)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"address": 6379}, TypeError, r"address must be a string .* got 6379 \(int\)"),
        ({"num_cpus": 0}, ValueError, "num_cpus must be a whole number >= 1 or None, got 0"),
        ({"num_cpus": -1}, ValueError, "num_cpus must be a whole number >= 1"),
        ({"num_cpus": "2"}, ValueError, "num_cpus must be a whole number >= 1 or None, got '2'"),
        ({"max_retries": True}, ValueError, "max_retries must be a whole number >= -1"),
        ({"max_retries": -2}, ValueError, "max_retries must be a whole number >= -1, got -2"),
        ({"batch_size": 0.5}, ValueError, "batch_size must be a whole number >= 1"),
        ({"init_kwargs": [("num_cpus", 1)]}, TypeError, "init_kwargs must be a mapping"),
    ],
)
def test_bad_arguments_are_refused_when_the_plugin_is_made(arguments, error, message):
    # num_cpus=0 started an instance on which no task ever ran (a hang); the others
    # failed inside Ray after the run was stored.
    with pytest.raises(error, match=message):
        RayExecution(**arguments)


def test_numpy_integers_and_ray_retrying_for_ever_are_accepted():
    import numpy as np

    plugin = RayExecution(num_cpus=np.int64(2), batch_size=np.int32(4), max_retries=-1)
    assert (plugin.num_cpus, plugin.batch_size, plugin.max_retries) == (2, 4, -1)
    assert type(plugin.num_cpus) is int


def test_unknown_init_kwargs_are_refused_before_the_run_is_stored(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="badargs",
        plugins=[RayExecution(init_kwargs={"num_cpu": 1, "bogus": 2})],
    )
    with pytest.raises(ValueError, match=r"takes no argument\(s\) 'num_cpu', 'bogus' \('num_cpu': did you mean 'num_cpus'\?\)"):
        experiment.run()
    assert not (tmp_path / "data").exists() or list_runs("data", "badargs") == []


def test_unreachable_address_fails_fast_with_what_to_do():
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(ClusterConnectionError, match=rf"127\.0\.0\.1:{port}.*ray start --head"):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5


def test_reachable_address_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


def test_run_on_an_unreachable_cluster_stops_before_anything_is_stored(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # no Ray session in this process
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="remote",
        plugins=[RayExecution(address=f"127.0.0.1:{_closed_port()}"), ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    with pytest.raises(ClusterConnectionError):
        experiment.run()
    data = tmp_path / "data"
    assert not (data / "crystallize.db").exists() or list_runs(data, "remote") == []


def test_run_without_ray_installed_stops_before_anything_is_stored(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real_find_spec(name, *a))
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="no_ray",
        plugins=[RayExecution(), ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    with pytest.raises(OptionalDependencyError, match=r"pip install 'crystallize\[ray\]'"):
        experiment.run()
    data = tmp_path / "data"
    assert not (data / "crystallize.db").exists() or list_runs(data, "no_ray") == []
