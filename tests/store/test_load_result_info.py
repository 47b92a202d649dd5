"""A Result loaded from the store has the same ``info`` keys as the live one."""

from __future__ import annotations

import re

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.reporting_html.page import run_section
from crystallize.store import load_result

#: What the store keeps beyond the live Result's info: how and when the run ended.
STORED_ONLY = ["status", "started_at", "ended_at"]
#: How the last call to run() of the run went (kept in the run's summary).
CALL_KEYS = ("strategy", "resumed", "computed", "cache_hits")


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
    for key in ("fingerprint", "replicates", "config", "artifact_version", *CALL_KEYS):
        assert loaded.info[key] == live.info[key], key
    assert live.info["artifact_version"] == 1
    assert live.info["strategy"] == "rerun" and live.info["computed"] == 4
    assert loaded.info["status"] == "completed"
    assert loaded.info["started_at"] <= loaded.info["ended_at"]


def test_a_loaded_resumed_run_says_how_its_last_call_went(tmp_path):
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), replicates=2, name="grown",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data")],
    )
    experiment.run()
    experiment.replicates = 3
    live = experiment.run(strategy="resume")
    loaded = load_result(live.run_id, tmp_path / "data")
    assert (loaded.info["strategy"], loaded.info["resumed"], loaded.info["computed"]) == ("resume", 2, 1)


def test_a_run_stored_before_its_call_was_kept_loads_with_none(tmp_path):
    """Runs stored by earlier versions have no call in their summary."""
    import sqlite3

    live = _run(tmp_path / "data")
    with sqlite3.connect(tmp_path / "data" / "crystallize.db") as conn:
        (summary,) = conn.execute("SELECT summary FROM runs WHERE run_id = ?", (live.run_id,)).fetchone()
        import json

        stored = json.loads(summary)
        del stored["call"]
        conn.execute("UPDATE runs SET summary = ? WHERE run_id = ?", (json.dumps(stored), live.run_id))
    loaded = load_result(live.run_id, tmp_path / "data")
    assert all(loaded.info[key] is None for key in CALL_KEYS)
    assert list(loaded.info) == list(live.info) + STORED_ONLY


def test_the_run_section_of_a_loaded_report_matches_the_live_one(tmp_path):
    live = _run(tmp_path / "data")
    loaded = load_result(live.run_id, tmp_path / "data")
    assert _run_rows(loaded) == _run_rows(live) + STORED_ONLY

