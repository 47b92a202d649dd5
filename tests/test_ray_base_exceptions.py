"""RayExecution: a step raising a BaseException fails only its replicate; an exception
a Ray task raises reaches the driver as the worker's own exception (not Ray's wrapper);
the driver's warning options (``-W``) reach the workers."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

ray = pytest.importorskip("ray")

from crystallize import Experiment, Pipeline, RayExecution, data_source, pipeline_step  # noqa: E402
from crystallize.plugins.execution.ray import (  # noqa: E402
    RayWorkerSetupError,
    RemoteTraceback,
    task_exception,
    worker_warning_env,
)

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray():
    from crystallize.plugins.execution.ray import local_runtime_env

    lenient = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=local_runtime_env(), _system_config=lenient)
    yield
    ray.shutdown()


class Abort(BaseException):
    """Like gevent's GreenletExit or pytest's Failed: a BaseException, not an Exception."""


@data_source
def numbers(ctx):
    return ctx["replicate"]


@pipeline_step()
def raises(data, ctx, *, kind="genexit"):
    if data == 1:
        raise GeneratorExit("closing") if kind == "genexit" else Abort("custom base exception")
    return data, {"value": data}


@pipeline_step()
def warns(data, ctx):
    if data == 1:
        warnings.warn("a user warning", UserWarning, stacklevel=1)
    return data, {"value": data}


def _explode_in_workers(driver_pid):
    if os.getpid() != driver_pid:
        raise Abort("cannot be loaded in a worker")
    return Loadable(driver_pid)


class Loadable:
    """Unpickles in the driver only: a worker loading it raises a BaseException."""

    def __init__(self, pid):
        self.pid = pid

    def __reduce__(self):
        return (_explode_in_workers, (self.pid,))


def _run(pipeline, **kwargs):
    experiment = Experiment(
        datasource=numbers(), pipeline=Pipeline(pipeline), plugins=[RayExecution(batch_size=1)],
        replicates=3, **kwargs,
    )
    return experiment.run()


@pytest.mark.parametrize("kind", ["genexit", "custom"])
def test_a_step_raising_a_base_exception_fails_only_its_replicate(local_ray, kind):
    result = _run([raises(kind=kind)])
    assert result.metrics.baseline.metrics["value"] == [0, 2]
    assert [(e.replicate, e.exception_type) for e in result.errors] == [
        (1, "GeneratorExit" if kind == "genexit" else "Abort")
    ]


def test_a_worker_that_cannot_load_the_experiment_raises_the_setup_error_itself(local_ray):
    with pytest.raises(RayWorkerSetupError) as info:
        _run([raises()], initial_ctx={"thing": Loadable(os.getpid())})
    assert type(info.value) is RayWorkerSetupError  # not Ray's RayTaskError(...) wrapper
    assert str(info.value).startswith("A Ray worker could not load the experiment (Abort: cannot be loaded")
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert str(info.value.__cause__).startswith("ray::_run_batch()")  # the worker's traceback


def test_the_drivers_warning_options_reach_the_workers(local_ray, monkeypatch):
    monkeypatch.setattr(sys, "warnoptions", ["error::UserWarning"])
    result = _run([warns()])
    assert result.metrics.baseline.metrics["value"] == [0, 2]
    assert [(e.replicate, e.exception_type) for e in result.errors] == [(1, "UserWarning")]
    assert "a user warning" in result.errors[0].message


# -- units -----------------------------------------------------------------------------------
def _task_error(cause):
    from ray.exceptions import RayTaskError

    text = 'Traceback (most recent call last):\n  File "steps.py", line 3, in step\nGeneratorExit: closing'
    return RayTaskError("_run_batch", text, cause, proctitle="ray::_run_batch", pid=1, ip="127.0.0.1")


@pytest.mark.parametrize("dual", [True, False], ids=["as-ray-get-raises-it", "plain"])
@pytest.mark.parametrize("cause", [GeneratorExit("closing"), Abort("custom"), ValueError("plain")])
def test_task_exception_is_the_workers_own_exception(cause, dual):
    error = _task_error(cause)
    raised = task_exception(error.as_instanceof_cause() if dual else error)
    assert raised is cause and type(raised) is type(cause)
    assert str(raised) == str(cause) and "\x1b" not in str(raised)
    assert isinstance(raised.__cause__, RemoteTraceback) and 'File "steps.py"' in str(raised.__cause__)
    assert "\x1b" not in str(raised.__cause__)


def test_task_exception_leaves_rays_own_errors_to_ray():
    from ray.exceptions import RayError

    error = _task_error(RayError("not serializable"))
    assert task_exception(error) is error


class _FakeRay:
    def __init__(self, env_vars):
        self.env = {"env_vars": env_vars} if env_vars is not None else {}

    def get_runtime_context(self):
        return self

    @property
    def runtime_env(self):
        return self.env


def test_worker_warning_env(monkeypatch):
    monkeypatch.setattr(sys, "warnoptions", [])
    assert worker_warning_env(_FakeRay(None)) is None  # nothing to pass on
    monkeypatch.setattr(sys, "warnoptions", ["error", "ignore::DeprecationWarning", "ignore:a, b"])
    assert worker_warning_env(_FakeRay({"PYTHONPATH": "/x"})) == {
        "env_vars": {"PYTHONWARNINGS": "error,ignore::DeprecationWarning"}  # one with a comma cannot be
    }
    assert worker_warning_env(_FakeRay({"PYTHONWARNINGS": "default"})) is None  # the job's own wins
