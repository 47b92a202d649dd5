"""Several runs using one store and artifact root at once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.exceptions import StoreError
from crystallize.store import list_runs, load_result, open_store
from crystallize.store.artifacts import SIDE_VERSION_MARKER, claim_side_version, latest_version
from crystallize.store.sqlite import SQLiteRunStore


@data_source
def one(ctx):
    return 1


@pipeline_step()
def work(data, ctx, *, out: Artifact, tag: int = -1):
    time.sleep(0.01)
    out.write(json.dumps({"tag": tag}).encode())
    return data, {"tag": tag}


def _fresh(root, tag: int, replicates: int = 5) -> Experiment:
    return Experiment(
        datasource=one(), pipeline=Pipeline([work(out=Artifact("out.json"))]),
        initial_ctx={"tag": tag}, replicates=replicates, name="fresh",
        plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )


# -- two unversioned runs of a new experiment at once -------------------------------------

def test_a_side_version_is_never_v0(tmp_path):
    (tmp_path / "fresh").mkdir()  # the first run made its directory, not yet v0
    version = claim_side_version(tmp_path, "fresh")
    assert version >= 1
    assert not (tmp_path / "fresh" / "v0").exists()  # left to the run that uses v0
    assert (tmp_path / "fresh" / f"v{version}" / SIDE_VERSION_MARKER).is_file()


def test_two_first_runs_started_together_keep_their_own_artifacts(tmp_path, monkeypatch):
    """The first run pauses between creating its run row and claiming v0 (a preempted
    process, a slow shared file system): the second run must not take v0 meanwhile."""
    root = tmp_path / "data"
    real = SQLiteRunStore.running_before
    first = threading.Event()

    def slow_running_before(self, run_id):
        if not first.is_set():
            first.set()
            time.sleep(0.3)
        return real(self, run_id)

    monkeypatch.setattr(SQLiteRunStore, "running_before", slow_running_before)
    results = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, _fresh(root, i).run())) for i in (0, 1)]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join()

    versions = {i: r.info.get("artifact_version") for i, r in results.items()}
    runs = {run.run_id: run for run in list_runs(root, "fresh")}
    stored = {i: runs[r.run_id].artifact_version for i, r in results.items()}
    assert stored[0] == 0 and stored[1] >= 1, (versions, stored)
    for i, version in stored.items():
        files = sorted((root / "fresh" / f"v{version}" / "baseline").glob("*/out.json"))
        assert [json.loads(f.read_text())["tag"] for f in files] == [i] * 5
    assert latest_version(root, "fresh") == 0


# -- a full disk when a run starts --------------------------------------------------------

@pytest.mark.parametrize("message", ["disk I/O error", "database or disk is full"])
def test_a_full_or_failing_disk_says_so(tmp_path, monkeypatch, message):
    real_connect = sqlite3.connect

    class Failing:
        def __init__(self, conn):
            self._conn = conn

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA synchronous"):
                raise sqlite3.OperationalError(message)
            return self._conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: Failing(real_connect(*a, **k)))
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "data")
    text = str(info.value)
    assert message in text
    assert "The disk may be full, or the file system failing: free space and retry." in text


# -- records that could not be written on a lock -------------------------------------------

def test_records_refused_by_a_passing_lock_are_written_before_the_run_ends(tmp_path, monkeypatch):
    root = tmp_path / "data"
    real = SQLiteRunStore.append_records
    refused = threading.Event()

    def locked_once(self, run_id, records):
        if not refused.is_set():
            refused.set()
            raise StoreError("Run store 'x': could not write: database is locked. Another process held it.")
        return real(self, run_id, records)

    monkeypatch.setattr(SQLiteRunStore, "append_records", locked_once)

    @pipeline_step()
    def wait_for_refusal(data, ctx):
        if ctx["replicate"] == 1:
            refused.wait(10)
        return data, {"score": ctx["replicate"]}

    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([wait_for_refusal()]), replicates=6, name="held",
        plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )
    result = experiment.run()

    assert refused.is_set()
    assert "store_error" not in result.info
    [run] = list_runs(root, "held")
    assert run.status == "completed"
    assert run.n_records == 6
    assert load_result(run.run_id, root).metrics.baseline.metrics["score"] == list(range(6))
    [note] = [w for w in result.warnings if "database is locked" in w]
    assert "written at the end of the run" in note
    assert not any("kept in memory only" in w for w in result.warnings)
    with open_store(root) as store:
        assert any("written at the end of the run" in w for w in store.get_run(run.run_id).warnings)


# -- the report of a run that has not finished ----------------------------------------------

def _stored_run(root, status: str | None) -> str:
    """A run of 'held' with 3 records, left ``running`` or finished with ``status``."""
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([work(out=Artifact("out.json"))]), replicates=3,
        name="held", plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )
    run_id = experiment.run().run_id
    with open_store(root) as store:
        store.reopen_run(run_id, replicates=6)  # running again, as if it had 3 more to do
        if status is not None:
            store.finish_run(run_id, status)
    return run_id


def _banner(page: str) -> str:
    """The page up to its first section (header and banner)."""
    return page[: page.index("<main>")]


def test_the_report_of_a_run_still_going_says_it_is_partial(tmp_path):
    from crystallize.reporting_html import render_html

    root = tmp_path / "data"
    run_id = _stored_run(root, None)
    head = _banner(render_html(load_result(run_id, root)))
    assert 'class="banner' in head
    assert "Run still in progress: partial data, hypotheses not tested yet." in head


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("interrupted", "Run interrupted"),
        ("cancelled", "Run cancelled"),
        ("failed", "Run failed"),
    ],
)
def test_the_report_of_an_unfinished_run_says_how_it_ended(tmp_path, status, words):
    from crystallize.reporting_html import render_html

    root = tmp_path / "data"
    run_id = _stored_run(root, status)
    head = _banner(render_html(load_result(run_id, root)))
    assert 'class="banner' in head and words in head


def test_the_report_of_a_completed_run_has_no_banner(tmp_path):
    from crystallize.reporting_html import render_html

    root = tmp_path / "data"
    run_id = _fresh(root, 1).run().run_id
    assert 'class="banner' not in render_html(load_result(run_id, root))


def test_the_side_version_warning_names_the_run_that_keeps_v0(tmp_path, monkeypatch):
    """Runs starting at once each see the others' rows at v0 for a moment (a row moves to
    its side version only after its own check): the warning names the oldest, which
    keeps v0, not one about to move aside."""
    from crystallize import session

    root = tmp_path / "data"
    with open_store(root) as store:
        first, second = (
            store.create_run(experiment="fresh", fingerprint="f", spec={}, replicates=1,
                             conditions=["baseline"], base_seed=1, artifact_version=0)
            for _ in range(2)
        )
    monkeypatch.setattr(session, "_DRIVING", {first.run_id, second.run_id})  # live, in this process
    result = _fresh(root, 1, replicates=1).run()
    [note] = [w for w in result.warnings if "writing its artifacts to v0" in w]
    assert note.startswith(f"Run {first.run_id} of 'fresh'")
