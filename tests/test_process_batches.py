"""Process execution sends each slow replicate's records back as soon as it finishes:
``stream()`` yields them one by one and an interrupted run keeps every finished one,
while tiny replicates still travel in batches."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time

from crystallize import Experiment, ParallelExecution, Pipeline, data_source, pipeline_step
from crystallize.plugins.execution.parallel import BATCH_SECONDS, Batcher
from crystallize.store import list_runs


@data_source
def one(ctx):
    return 1


@pipeline_step()
def nap(data, ctx, *, seconds=0.0):
    time.sleep(seconds)
    return data, {"x": float(ctx["replicate"])}


def test_stream_yields_each_slow_replicate_as_it_finishes():
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([nap(seconds=0.3)]), replicates=24,
        plugins=[ParallelExecution(max_workers=2, executor_type="process")],
    )
    lags = [time.time() - (record.started_at + record.duration) for record in experiment.stream()]
    assert len(lags) == 24
    # Batched three by three, two records of each batch would wait 0.3 s or 0.6 s.
    assert statistics.median(lags) < 0.15


def test_batches_grow_only_while_replicates_are_fast():
    batcher = Batcher(range(1000), workers=2)
    assert batcher.next() == [0]  # nothing timed yet: one at a time
    batcher.timed(1, 0.5)  # slow replicates stay alone
    assert batcher.next() == [1]
    batcher.timed(1, BATCH_SECONDS / 10)
    assert len(batcher.next()) == 10
    batcher.timed(10, 1e-9)  # tiny ones: no more than about four batches per worker
    assert len(batcher.next()) == 125
    assert batcher.next() == list(range(137, 262))
    batcher.put_back([137, 138])  # could not be sent: they go out first
    rest = batcher.next()
    assert rest[:3] == [137, 138, 262]
    while batcher:
        rest += batcher.next()
    assert rest == [137, 138, *range(262, 1000)]


DRIVER = """\
import sys
import time
from pathlib import Path

from crystallize import Experiment, ParallelExecution, Pipeline, data_source, pipeline_step


@data_source
def one(ctx):
    return 1


@pipeline_step()
def nap(data, ctx, *, marker_dir):
    time.sleep(0.25)
    Path(marker_dir, str(ctx["replicate"])).touch()
    return data, {"x": 1.0}


if __name__ == "__main__":
    Experiment(
        datasource=one(), pipeline=Pipeline([nap(marker_dir=sys.argv[1])]), replicates=60,
        plugins=[ParallelExecution(max_workers=2, executor_type="process")], name="stopped",
    ).run()
"""


def test_ctrl_c_keeps_every_finished_replicate(tmp_path):
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER), encoding="utf-8")
    markers = tmp_path / "finished"
    markers.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "driver.py", str(markers)], cwd=tmp_path, start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(markers.iterdir())) < 6:  # in batches of 8, none would be back yet
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.02)
        finished = len(list(markers.iterdir()))
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C at a terminal
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (run,) = list_runs(tmp_path / "data", "stopped")
    assert run.status == "cancelled"
    assert finished - 1 <= run.n_records < 60
