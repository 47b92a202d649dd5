"""A bug in a user's driver hook says which hook raised, and never hides the Result."""

from __future__ import annotations

import pytest

from crystallize import ArtifactPlugin, BasePlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.store import list_runs


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


class BrokenEnd(BasePlugin):
    def on_replicate_end(self, experiment, record):
        if record.replicate == 1:
            raise RuntimeError("dashboard unreachable")


class BrokenAfter(BasePlugin):
    def after_run(self, experiment, result):
        raise RuntimeError("upload failed")


def _experiment(plugin, root):
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline([keep()]), replicates=4, name="hooks",
        plugins=[plugin, ArtifactPlugin(root_dir=root)],
    )


def test_a_raising_on_replicate_end_names_the_hook_and_the_replicate(tmp_path):
    with pytest.raises(RuntimeError, match="dashboard unreachable") as raised:
        _experiment(BrokenEnd(), tmp_path / "data").run()
    (note,) = raised.value.__notes__
    assert note.startswith("Raised by the plugin hook BrokenEnd.on_replicate_end for baseline #1")
    (run,) = list_runs(tmp_path / "data", "hooks")
    assert run.status == "failed" and run.n_records == 2  # replicates 0 and 1 were stored


def test_a_raising_after_run_keeps_the_result_on_the_exception(tmp_path):
    with pytest.raises(RuntimeError, match="upload failed") as raised:
        _experiment(BrokenAfter(), tmp_path / "data").run()
    result = raised.value.result
    assert result.metrics.baseline.metrics["value"] == [0, 1, 2, 3]
    assert f"is stored as run {result.run_id}" in raised.value.__notes__[0]
    (run,) = list_runs(tmp_path / "data", "hooks")
    assert run.status == "completed" and run.run_id == result.run_id
