"""A script without ``if __name__ == "__main__":`` under ``spawn`` (or ``forkserver``):
each worker process imports it again, and its ``experiment.run()`` would start a run of
its own. Such a run is refused before anything is stored, with a message naming the
guard, and the driver's "workers died" error names the guard as the likely cause."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.plugins.execution import process_start
from crystallize.store import list_runs


@data_source
def one(ctx):
    return 1


@pipeline_step()
def double(data, ctx):
    return data, {"x": 2.0 * data}


def _experiment(root):
    return Experiment(
        datasource=one(), pipeline=Pipeline([double()]), replicates=2, name="guarded",
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(root))],
    )


@pytest.fixture
def bootstrapping(monkeypatch):
    """This process looks like a multiprocessing child still importing the main module."""
    monkeypatch.setattr(multiprocessing.process.current_process(), "_inheriting", True, raising=False)


@pytest.mark.parametrize("start", [lambda exp: exp.run(), lambda exp: list(exp.stream())], ids=["run", "stream"])
def test_run_in_a_bootstrapping_child_is_refused_before_anything_is_stored(bootstrapping, tmp_path, start):
    root = tmp_path / "data"
    with pytest.raises(RuntimeError) as caught:
        start(_experiment(root))
    message = str(caught.value)
    assert 'if __name__ == "__main__":' in message
    assert "docs/execution.md" in message
    assert "'guarded'" in message
    assert not root.exists() or list_runs(root) == []


def test_run_after_bootstrapping_is_allowed(tmp_path):
    """A multiprocessing child that finished starting (a Process target) may run experiments."""
    assert getattr(multiprocessing.process.current_process(), "_inheriting", False) is False
    result = _experiment(tmp_path / "data").run()
    assert result.metrics.baseline.metrics["x"] == [2.0, 2.0]


def test_workers_dying_early_name_the_guard_unless_forked():
    assert 'if __name__ == "__main__":' in process_start.died_early_message("spawn")
    assert 'if __name__ == "__main__":' in process_start.died_early_message("forkserver")
    fork = process_start.died_early_message("fork")
    assert "__main__" not in fork and "Worker processes died before running any replicate" in fork
    spawn = process_start.died_early_message("spawn")  # resuming before adding the guard fails again
    assert spawn.index("under that guard") < spawn.index("then re-run with strategy='resume'")


def test_workers_dying_early_from_a_program_read_from_stdin_name_that_not_the_guard(monkeypatch):
    monkeypatch.setattr(sys.modules["__main__"], "__file__", "<stdin>", raising=False)
    message = process_start.died_early_message("spawn")
    assert "it has no file ('<stdin>': code read from standard input)" in message
    assert "Save the code as a script" in message and "__name__" not in message


UNGUARDED = """\
import multiprocessing
import os

from crystallize import Experiment, ParallelExecution, Pipeline, SeedPlugin, data_source, pipeline_step


@data_source
def src(ctx):
    return 1


@pipeline_step()
def pid(data, ctx):
    return data, {"pid": os.getpid()}


multiprocessing.set_start_method("spawn", force=True)
exp = Experiment(datasource=src(), pipeline=Pipeline([pid()]),
                 plugins=[SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="process")],
                 replicates=4, name="noguard")
exp.run()
"""


def test_unguarded_script_under_spawn_stores_one_run_and_names_the_guard(tmp_path):
    """The audit's repro: it used to store a failed run per worker process too (side
    folders v1, v2, "still running" warnings), and no message mentioned the guard."""
    script = tmp_path / "noguard.py"
    script.write_text(textwrap.dedent(UNGUARDED))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("RuntimeError: Worker processes died before running any replicate")
    assert 'if __name__ == "__main__":' in last_line
    assert "is still running" not in done.stderr
    runs = list_runs(tmp_path / "data", "noguard")
    assert [run.status for run in runs] == ["failed"]
    assert sorted(p.name for p in (tmp_path / "data" / "noguard").iterdir()) == ["v0"]


GUARDED = """\
import multiprocessing
import sys

from crystallize import Experiment, ParallelExecution, Pipeline, SeedPlugin, data_source, pipeline_step


@data_source
def src(ctx):
    return 1


@pipeline_step()
def double(data, ctx):
    return data, {"x": 2.0 * data}


def run(name):
    exp = Experiment(datasource=src(), pipeline=Pipeline([double()]),
                     plugins=[SeedPlugin(seed=1), ParallelExecution(max_workers=2, executor_type="process")],
                     replicates=4, name=name)
    assert exp.run().errors == []


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    run("driver")                                           # pool workers import this script
    child = multiprocessing.Process(target=run, args=("child",))  # a run in a spawned process
    child.start()
    child.join()
    sys.exit(child.exitcode)
"""


def test_guarded_script_under_spawn_runs_in_the_driver_and_in_a_spawned_process(tmp_path):
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert [run.status for run in list_runs(tmp_path / "data", "driver")] == ["completed"]
    assert [run.status for run in list_runs(tmp_path / "data", "child")] == ["completed"]
