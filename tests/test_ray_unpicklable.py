"""RayExecution: a record holding a value that cannot be pickled fails only its
condition × replicate, as under process execution."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from crystallize import (  # noqa: E402
    Experiment,
    Pipeline,
    RayExecution,
    SeedPlugin,
    data_source,
    pipeline_step,
)

pytestmark = pytest.mark.ray


@data_source
def one(ctx):
    return 1


@pipeline_step()
def lock_on_two(data, ctx):
    import threading

    return data, {"m": threading.Lock() if ctx["replicate"] == 2 else float(ctx["replicate"])}


def test_unpicklable_metric_fails_only_its_replicate_on_ray():
    from crystallize.plugins.execution.ray import local_runtime_env

    lenient = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=local_runtime_env(),
             _system_config=lenient)
    try:
        result = Experiment(
            datasource=one(), pipeline=Pipeline([lock_on_two()]), replicates=4,
            plugins=[SeedPlugin(seed=1), RayExecution(batch_size=4)],
        ).run()
    finally:
        ray.shutdown()
    errors = [(e.replicate, e.step, e.exception_type) for e in result.errors]
    assert errors == [(2, "lock_on_two", "PicklingError")]
    assert "metric 'm'" in result.errors[0].message
    assert result.metrics.baseline.metrics["m"] == [0.0, 1.0, 3.0]
