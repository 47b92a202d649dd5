"""RayExecution against a real local Ray instance (num_cpus=2, no dashboard)."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from crystallize import (  # noqa: E402
    Experiment,
    Pipeline,
    RayExecution,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from crystallize.plugins.execution.ray import local_runtime_env

    # On a 2-core machine busy with other work, Ray's default health checks may declare
    # the local node dead, which ends this driver (and pytest with it): be lenient.
    lenient = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=local_runtime_env(),
             _system_config=lenient)
    yield
    ray.shutdown()


@data_source
def draws(ctx, n=4):
    return [random.random() for _ in range(n)]


@pipeline_step()
def shift(data, ctx, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def summarize(data, ctx):
    return data, {"total": sum(data)}


def make_token(ctx):
    return {"pid": os.getpid(), "nonce": random.getrandbits(64)}


@pipeline_step()
def use_token(data, ctx):
    token = ctx["token"]
    return data, {"pid": token["pid"], "nonce": token["nonce"]}


@pipeline_step()
def fail_on_two(data, ctx):
    if ctx["replicate"] == 2:
        raise ValueError("replicate two is cursed")
    return data


@pipeline_step()
def die_once(data, ctx, *, marker_dir):
    marker = Path(marker_dir) / f"{ctx['condition']}-{ctx['replicate']}"
    if ctx["replicate"] == 1 and not marker.exists():
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return data


def experiment(execution, pipeline, **kwargs):
    kwargs.setdefault("treatments", [treatment("up", {"delta": 1.0})])
    return Experiment(
        datasource=draws(),
        pipeline=Pipeline(pipeline),
        plugins=[SeedPlugin(seed=7), execution],
        replicates=kwargs.pop("replicates", 6),
        **kwargs,
    )


def test_same_metrics_as_serial():
    pipeline = [shift(), summarize()]
    on_ray = experiment(RayExecution(), pipeline).run()
    serial = Experiment(
        datasource=draws(), pipeline=Pipeline(pipeline), plugins=[SeedPlugin(seed=7)],
        treatments=[treatment("up", {"delta": 1.0})], replicates=6,
    ).run()
    assert on_ray.metrics.baseline.metrics == serial.metrics.baseline.metrics
    assert on_ray.metrics.treatments["up"].metrics == serial.metrics.treatments["up"].metrics
    assert not on_ray.errors


def test_resources_created_once_per_worker():
    result = experiment(
        RayExecution(batch_size=1), [use_token()], replicates=8,
        initial_ctx={"token": resource_factory(make_token)},
    ).run()
    pairs = set(zip(result.metrics.baseline.metrics["pid"] + result.metrics.treatments["up"].metrics["pid"],
                    result.metrics.baseline.metrics["nonce"] + result.metrics.treatments["up"].metrics["nonce"],
                    strict=True))
    pids = {pid for pid, _ in pairs}
    assert os.getpid() not in pids
    assert len(pairs) == len(pids)  # one resource per worker process


def test_step_errors_are_recorded():
    result = experiment(RayExecution(), [fail_on_two(), summarize()], replicates=4).run()
    assert sorted((e.condition, e.replicate, e.step) for e in result.errors) == [
        ("baseline", 2, "fail_on_two"), ("up", 2, "fail_on_two")
    ]
    assert len(result.metrics.baseline.metrics["total"]) == 3


def test_killed_worker_is_retried_and_run_completes(tmp_path):
    result = experiment(
        RayExecution(max_retries=2, batch_size=1), [die_once(marker_dir=str(tmp_path)), summarize()],
        replicates=3, treatments=[],
    ).run()
    assert (tmp_path / "baseline-1").exists()
    assert not result.errors
    assert len(result.metrics.baseline.metrics["total"]) == 3


@pipeline_step()
def always_die(data, ctx):
    if ctx["replicate"] == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return data


def test_worker_that_keeps_dying_is_recorded_as_failed():
    result = experiment(RayExecution(max_retries=0, batch_size=1), [always_die(), summarize()],
                        replicates=2, treatments=[]).run()
    assert [(e.condition, e.replicate, e.step) for e in result.errors] == [("baseline", 0, "worker")]
    assert "died" in result.errors[0].message
    assert len(result.metrics.baseline.metrics["total"]) == 1


def test_a_dying_batch_is_split_so_only_the_deadly_replicate_fails():
    """Like process execution: the other replicates of a batch whose worker died are run
    again on their own, and only the one that kills its worker alone is failed."""
    result = experiment(RayExecution(max_retries=0, batch_size=3), [always_die(), summarize()],
                        replicates=3, treatments=[]).run()
    assert [(e.condition, e.replicate, e.step) for e in result.errors] == [("baseline", 0, "worker")]
    assert "alone" in result.errors[0].message
    assert len(result.metrics.baseline.metrics["total"]) == 2


@pipeline_step()
def interrupts(data, ctx):
    if ctx["replicate"] == 1:
        raise KeyboardInterrupt
    return data


def test_keyboard_interrupt_in_a_step_cancels_the_run():
    """As with the other executors: KeyboardInterrupt is raised and the run is ``cancelled``."""
    from crystallize.store import list_runs

    exp = experiment(RayExecution(batch_size=1), [interrupts()], replicates=3, treatments=[],
                     name="ray-interrupt")
    with pytest.raises(KeyboardInterrupt):
        exp.run()
    (run,) = list_runs("data", "ray-interrupt")
    assert run.status == "cancelled"


def test_ray_is_not_imported_by_crystallize():
    import subprocess
    import sys

    code = "import sys, crystallize; crystallize.RayExecution; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


MAIN_SCRIPT = """
import random
from crystallize import Experiment, Pipeline, RayExecution, SeedPlugin, data_source, pipeline_step

SCALE = 10

@data_source
def source(ctx, n=3):
    return [random.random() for _ in range(n)]

@pipeline_step(cacheable=True)
def scaled_total(data, ctx, *, factor=1):
    return data, {"total": round(SCALE * factor * sum(data), 9)}

def experiment(plugins):
    return Experiment(datasource=source(), pipeline=Pipeline([scaled_total(factor=2)]),
                      plugins=[SeedPlugin(seed=3), *plugins], replicates=3, name="main-script")

if __name__ == "__main__":
    on_ray = experiment([RayExecution(num_cpus=1)]).run()
    serial = experiment([]).run()
    print([e.message for e in on_ray.errors])
    print(on_ray.metrics.baseline.metrics["total"] == serial.metrics.baseline.metrics["total"])
"""


def test_steps_defined_in_the_main_script(tmp_path):
    """``python script.py`` with steps and datasource defined in the script itself."""
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(MAIN_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-2:] == ["[]", "True"], out.stdout + out.stderr[-2000:]


def test_main_script_steps_keep_their_source_where_the_script_is_missing(tmp_path):
    """A node without the script still sees the step's source (no false code-drift warning)."""
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(MAIN_SCRIPT.split("if __name__")[0] + """
if __name__ == "__main__":
    import sys
    from crystallize.fingerprint import code_hash
    from crystallize.plugins.execution.ray import dumps_for_ray
    step = scaled_total(factor=2)
    sys.stdout.buffer.write(code_hash(step).encode() + b"\\n" + dumps_for_ray(step))
""")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    digest, payload = out.stdout.split(b"\n", 1)
    script.unlink()
    load = ("import pickle, sys; from crystallize.fingerprint import code_hash; "
            "step = pickle.loads(sys.stdin.buffer.read()); print(code_hash(step), step.params)")
    out = subprocess.run([sys.executable, "-c", load], input=payload, capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.decode().split(" ", 1) == [digest.decode(), "{'factor': 2}\n"]


@pipeline_step()
def emits(data, ctx):
    ctx.emit("tick", n=ctx["replicate"])
    return data, {"total": sum(data)}


def test_events_and_stream_cancellation_on_ray():
    from crystallize import BasePlugin
    from crystallize.store import list_runs

    class Ticks(BasePlugin):
        def __init__(self):
            self.ticks = []

        def on_event(self, experiment, ctx, event, payload):
            self.ticks.append(payload["n"])

    ticks = Ticks()
    exp = experiment(RayExecution(batch_size=1), [emits()], replicates=4, treatments=[], name="ray-events")
    exp.plugins.append(ticks)
    exp.run()
    assert sorted(ticks.ticks) == [0, 1, 2, 3]

    streaming = experiment(RayExecution(batch_size=1), [shift(), summarize()], replicates=40,
                           treatments=[], name="ray-stream")
    for count, _record in enumerate(streaming.stream(), start=1):
        if count == 2:
            break
    (run,) = list_runs("data", "ray-stream")
    assert run.status == "cancelled" and 2 <= run.n_records < 40


@pipeline_step()
def slow_marked(data, ctx, *, marker_dir):
    import time

    (Path(marker_dir) / f"{ctx['replicate']}").write_text("started")
    time.sleep(0.5)
    return data, {"total": sum(data)}


def test_closing_a_stream_stops_the_remaining_replicates_without_ray_cancel(tmp_path, monkeypatch):
    """``ray.cancel`` can abort the driver inside Ray when a task finishes at that moment
    ("Tried to complete task that was not pending": the process ends with no Python error),
    so a closed stream asks the remaining tasks to stop instead, and they do."""
    import time

    cancels = []
    monkeypatch.setattr(ray, "cancel", lambda ref, **kwargs: cancels.append(ref))
    markers = tmp_path / "markers"
    markers.mkdir()
    exp = experiment(RayExecution(batch_size=1), [slow_marked(marker_dir=str(markers))],
                     replicates=40, treatments=[], name="ray-stop")
    for count, _record in enumerate(exp.stream(), start=1):
        if count == 2:
            break
    time.sleep(3)  # tasks started before the stop request have written their marker
    started = len(list(markers.iterdir()))
    time.sleep(3)
    assert cancels == []
    assert len(list(markers.iterdir())) == started < 40
