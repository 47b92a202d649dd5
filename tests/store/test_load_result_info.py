"""A Result loaded from the store has the same ``info`` keys as the live one."""

from __future__ import annotations

import re

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.reporting_html.page import run_section
from crystallize.store import load_result

#: What the store keeps beyond the live Result's info: how and when the run ended.
STORED_ONLY = ["status", "started_at", "ended_at"]
#: What the store does not keep: how the call to run() that made the Result went.
NOT_STORED = ("strategy", "resumed", "computed", "cache_hits")


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data + ctx.get("x", 0)}


def _run(root):
    """The second run (v1) of a versioned experiment."""
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), treatments=[treatment("t", {"x": 1})],
        replicates=2, name="kept", plugins=[ArtifactPlugin(root_dir=root, versioned=True)],
    )
    experiment.run()
    return experiment.run()


def _run_rows(result) -> list[str]:
    """The labels of the HTML report's Run section, in order."""
    return re.findall(r"<tr><td>(.*?)</td>", run_section(result))


def test_a_loaded_result_has_every_info_key_of_the_live_one(tmp_path):
    live = _run(tmp_path / "data")
    loaded = load_result(live.run_id, tmp_path / "data")
    assert list(loaded.info) == list(live.info) + STORED_ONLY
    for key in ("fingerprint", "replicates", "config", "artifact_version"):
        assert loaded.info[key] == live.info[key], key
    assert live.info["artifact_version"] == 1
    assert all(loaded.info[key] is None for key in NOT_STORED)
    assert loaded.info["status"] == "completed"
    assert loaded.info["started_at"] <= loaded.info["ended_at"]


def test_the_run_section_of_a_loaded_report_matches_the_live_one(tmp_path):
    live = _run(tmp_path / "data")
    loaded = load_result(live.run_id, tmp_path / "data")
    assert _run_rows(loaded) == _run_rows(live) + STORED_ONLY

