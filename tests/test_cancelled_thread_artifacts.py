"""A thread of a cancelled run that finishes its replicate in the background (its result
dropped) cannot write its artifacts into the folder a later run of the experiment uses."""

from __future__ import annotations

import threading
import time

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)

LEFT_RUNNING = threading.Event()  # set once the old run's background replicates are done
finished: list[int] = []


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def save(data, ctx, *, label="new", out: Artifact = Artifact("out.txt")):
    if label == "old":
        if data == 0:
            raise KeyboardInterrupt  # cancels the run while replicates 1-3 still run
        time.sleep(0.4)  # still running when the next run starts
        try:
            out.write(f"old-{data}")
        finally:
            finished.append(data)
            if len(finished) == 3:
                LEFT_RUNNING.set()
    else:
        out.write(f"new-{data}")
    return data, {"value": data}


def _experiment(tmp_path, label):
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline([save(label=label)]), replicates=4, name="zombie",
        plugins=[
            ArtifactPlugin(root_dir=str(tmp_path)), SeedPlugin(seed=1), LoggingPlugin(log_level="ERROR"),
            ParallelExecution(max_workers=4, executor_type="thread"),
        ],
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # threads share the global RNGs
def test_a_cancelled_runs_threads_do_not_write_into_the_next_runs_folder(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _experiment(tmp_path, "old").run()
    result = _experiment(tmp_path, "new").run()
    assert not result.errors
    assert LEFT_RUNNING.wait(10)
    folder = tmp_path / "zombie" / "v0" / "baseline"
    assert [(folder / str(r) / "out.txt").read_text() for r in range(4)] == [f"new-{r}" for r in range(4)]
