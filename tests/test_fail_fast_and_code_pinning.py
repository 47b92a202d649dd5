"""fail_fast stops early and keeps what finished; code edits during a run are flagged."""

from __future__ import annotations

import importlib
import pickle
import sys
import textwrap
import time

import pytest

from crystallize import (
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.exceptions import RunFailedError
from crystallize.replicate import ReplicateRunner, baseline_condition, code_digest
from crystallize.store import list_runs, load_result


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def slow_fail_at_three(data, ctx):
    time.sleep(0.03)
    if data == 3:
        raise RuntimeError("replicate three breaks")
    return data, {"value": data}


def build(execution=None, replicates=40):
    plugins = [SeedPlugin(seed=1)] + ([execution] if execution else [])
    return Experiment(datasource=index(), pipeline=Pipeline([slow_fail_at_three()]),
                      replicates=replicates, plugins=plugins, name="ff")


@pytest.mark.parametrize("execution", [None, ParallelExecution(max_workers=2, executor_type="process")],
                         ids=["serial", "process"])
def test_fail_fast_stops_early_and_keeps_finished(execution):
    with pytest.raises(RunFailedError) as info:
        build(execution).run(fail_fast=True)
    partial = info.value.result
    assert info.value.error.replicate == 3 and "three breaks" in info.value.error.message
    # Serially replicates 0-2 finish first; a process pool may still be running one of
    # them when replicate 3 fails on the other worker, and fail_fast does not wait for it.
    assert (4 if execution is None else 2) <= len(partial.records) < 40, "the run stopped early"
    assert len(partial.metrics.baseline.metrics["value"]) == len(partial.records) - 1
    (run,) = list_runs("data", "ff")
    assert run.status == "failed" and run.n_records == len(partial.records)


def test_without_fail_fast_everything_finishes_and_errors_are_logged_immediately(caplog):
    caplog.set_level("ERROR", logger="crystallize")
    result = build(replicates=6).run()
    assert len(result.records) == 6 and len(result.errors) == 1
    assert "three breaks" in caplog.records[0].getMessage()


STEPS = textwrap.dedent(
    """
    import importlib
    import sys
    from pathlib import Path
    from crystallize import pipeline_step

    def value(data):
        return data  # v1

    @pipeline_step()
    def self_editing(data, ctx):
        if ctx["replicate"] == 1:  # the helper is edited and loaded mid-run (a re-run cell)
            path = Path(__file__)
            path.write_text(path.read_text().replace("return data  # v1", "return data + 0  # v2"))
            importlib.reload(sys.modules[__name__])
        return value(data)
    """
)


@pytest.fixture
def editable(tmp_path, monkeypatch):
    (tmp_path / "editable_steps.py").write_text(STEPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("editable_steps", None)
    import editable_steps

    yield editable_steps
    sys.modules.pop("editable_steps", None)


def test_a_file_edited_but_not_loaded_during_a_run_is_not_flagged(tmp_path, monkeypatch):
    """Every replicate ran the code loaded at the start: nothing mixed, no warning."""
    (tmp_path / "unloaded_steps.py").write_text(STEPS.replace("importlib.reload(sys.modules[__name__])", "pass"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import unloaded_steps

    experiment = Experiment(datasource=index(), pipeline=Pipeline([unloaded_steps.self_editing()]),
                            replicates=3, name="unloaded")
    result = experiment.run()
    assert not any("Code changed" in w for w in result.warnings)
    sys.modules.pop("unloaded_steps", None)


def test_code_edited_during_run_is_flagged(editable):
    experiment = Experiment(datasource=index(), pipeline=Pipeline([editable.self_editing()]),
                            replicates=3, name="edited")
    result = experiment.run()
    assert any("Code changed during the run" in w and "steps[0].code" in w for w in result.warnings)
    assert "Code changed during the run" in result.report()
    stored = load_result(result.run_id)
    assert any("steps[0].code" in w for w in stored.warnings)


def test_worker_that_sees_other_code_marks_its_records(editable, tmp_path):
    experiment = Experiment(datasource=index(), pipeline=Pipeline([editable.self_editing()]), name="w")
    conditions = [baseline_condition()]
    runner = ReplicateRunner(experiment, conditions, [0], expected_code=code_digest(experiment, conditions))
    payload = pickle.dumps(runner)
    path = tmp_path / "editable_steps.py"
    path.write_text(path.read_text().replace("# v1", "# v3"))
    importlib.reload(editable)  # a later worker process imports the file as it is now
    worker_copy = pickle.loads(payload)  # what a later worker process would see
    (record,) = worker_copy(0)
    assert record.code_digest is not None
    (unchanged,) = runner(0)
    assert unchanged.code_digest is None
