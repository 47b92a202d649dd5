"""Process execution under every multiprocessing start method: fork, spawn and forkserver
(the Linux default from Python 3.14).

Each case runs a real driver script in a subprocess that sets the start method, so the
pool workers, the processes replicates are re-run in and the live-event Manager are all
started the way that method starts them.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]

STEPS = """\
import os
import random
import time
from pathlib import Path

from crystallize import BasePlugin, data_source, pipeline_step


@data_source
def draws(ctx):
    return [random.random() for _ in range(3)]


@pipeline_step()
def total(data, ctx, *, pause=0.0, pid_dir="", victim=-1):
    if pid_dir:
        Path(pid_dir, str(os.getpid())).touch()
    if ctx["replicate"] == victim and ctx["condition"] == "baseline":
        os._exit(3)
    time.sleep(pause)
    ctx.emit("tick", replicate=ctx["replicate"])
    return data, {"total": sum(data)}


class Ticks(BasePlugin):
    def __init__(self):
        self.ticks = []

    def on_event(self, experiment, ctx, event, payload):
        self.ticks.append(payload["replicate"])
"""

DRIVER = """\
import json
import multiprocessing
import sys

from crystallize import Experiment, ParallelExecution, Pipeline, SeedPlugin, treatment
from sm_steps import Ticks, draws, total


def experiment(execution, replicates, **params):
    ticks = Ticks()
    plugins = [SeedPlugin(seed=3), ticks] + ([execution] if execution else [])
    return Experiment(
        datasource=draws(), pipeline=Pipeline([total(**params)]), plugins=plugins,
        treatments=[treatment("up", {"unused": 1})], replicates=replicates, name="sm",
    ), ticks


if __name__ == "__main__":
    method, replicates, params = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    multiprocessing.set_start_method(method)
    exp, ticks = experiment(ParallelExecution(max_workers=2, executor_type="process"), replicates, **params)
    result = exp.run()
    serial, _ = experiment(None, replicates)
    print(json.dumps({
        "errors": sorted([e.condition, e.replicate, e.step] for e in result.errors),
        "totals": result.metrics.baseline.metrics.get("total"),
        "serial": serial.run().metrics.baseline.metrics["total"],
        "ticks": sorted(ticks.ticks),
    }))
"""


def write_driver(root: Path) -> None:
    (root / "sm_steps.py").write_text(STEPS, encoding="utf-8")
    (root / "sm_driver.py").write_text(textwrap.dedent(DRIVER), encoding="utf-8")


def driver_command(root: Path, method: str, replicates: int, **params) -> list[str]:
    return [sys.executable, str(root / "sm_driver.py"), method, str(replicates), json.dumps(params)]


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}


@pytest.mark.parametrize("method", METHODS)
def test_process_runs_and_delivers_events_under_every_start_method(tmp_path, method):
    write_driver(tmp_path)
    done = subprocess.run(
        driver_command(tmp_path, method, 5), cwd=tmp_path, env=environment(tmp_path),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["errors"] == []
    assert out["totals"] == out["serial"]
    assert out["ticks"] == sorted(list(range(5)) * 2)  # both conditions, live from the workers


@pytest.mark.parametrize("method", METHODS)
def test_dead_worker_is_rerun_alone_under_every_start_method(tmp_path, method):
    write_driver(tmp_path)
    done = subprocess.run(
        driver_command(tmp_path, method, 4, victim=2), cwd=tmp_path, env=environment(tmp_path),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["errors"] == [["baseline", 2, "worker"], ["up", 2, "worker"]]
    assert out["totals"] == out["serial"][:2] + out["serial"][3:]


def live_group_members(pgid: int) -> list[int]:
    """Ids of the live (not zombie) processes in process group ``pgid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("method", METHODS)
def test_workers_exit_when_the_driver_is_killed(tmp_path, method):
    write_driver(tmp_path)
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen(
        driver_command(tmp_path, method, 200, pause=0.2, pid_dir=str(pids)), cwd=tmp_path,
        env=environment(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2:  # both pool workers run replicates
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(live_group_members(proc.pid)) >= 4  # driver, Manager, 2 workers (+ helpers)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while (left := live_group_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == []
    finally:
        for pid in live_group_members(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


LEAVES_DEFAULT = """\
import json
import multiprocessing

from crystallize import Experiment, ParallelExecution, Pipeline, SeedPlugin, treatment
from sm_steps import Ticks, draws, total


def run(victim=-1):
    return Experiment(
        datasource=draws(), pipeline=Pipeline([total(victim=victim)]),
        plugins=[SeedPlugin(seed=3), Ticks(), ParallelExecution(max_workers=2, executor_type="process")],
        treatments=[treatment("up", {"unused": 1})], replicates=3, name="sm",
    ).run()


if __name__ == "__main__":
    first = run(victim=1)  # the pool, the live-event manager and a replicate re-run alone
    unset = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn")  # raises if a run fixed the default
    second = run()
    print(json.dumps({
        "unset_after_run": unset,
        "first_errors": sorted([e.condition, e.replicate] for e in first.errors),
        "second_errors": len(second.errors),
        "same": first.metrics.baseline.metrics["total"] == second.metrics.baseline.metrics["total"][:1]
        + second.metrics.baseline.metrics["total"][2:],
    }))
"""


def test_a_process_run_leaves_the_default_start_method_unset(tmp_path):
    """A run must not fix ``multiprocessing``'s default context: the program may choose
    its start method afterwards (``set_start_method`` raises once it was fixed)."""
    write_driver(tmp_path)
    (tmp_path / "sm_default.py").write_text(LEAVES_DEFAULT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(tmp_path / "sm_default.py")], cwd=tmp_path, env=environment(tmp_path),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"unset_after_run": None, "first_errors": [["baseline", 1], ["up", 1]], "second_errors": 0, "same": True}
