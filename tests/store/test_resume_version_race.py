"""A resume of a crashed unversioned run and a new run of the same name starting at once.

Run R crashed (``interrupted``) in ``v0``. A resumes it (``strategy="resume"``) while S, a
plain new run, starts. Whichever of A's reopen and S's run row commits first keeps ``v0``;
the other adapts: A starts a new run (and says why), or S writes a side version. Never do
both finish in ``v0`` with each other's files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.artifacts import Artifact
from crystallize.store import list_runs, open_store
from crystallize.store.sqlite import SQLiteRunStore

#: Set by S's first replicate once it runs (its run row exists and it took v0); S then
#: waits for RELEASE.
S_RUNNING = threading.Event()
RELEASE = threading.Event()


@data_source
def one(ctx):
    return 1


@pipeline_step()
def writes(data, ctx, *, tag: str = "A", out: Artifact = Artifact("m.txt")):
    if tag == "S" and ctx["replicate"] == 0 and not RELEASE.is_set():
        S_RUNNING.set()
        assert RELEASE.wait(30)
    out.write(f"{tag}:{ctx['replicate']}")
    return data, {"n": 1}


def _build(root: Path, tag: str, replicates: int) -> Experiment:
    return Experiment(
        datasource=one(), pipeline=Pipeline([writes(tag=tag)]), name="ua", replicates=replicates,
        plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
    )


@pytest.fixture(autouse=True)
def _events():
    S_RUNNING.clear()
    RELEASE.clear()
    yield
    RELEASE.set()  # never leave a thread waiting


def _crashed_run(root: Path) -> str:
    """R: an unversioned run with 2 of its replicates done, its driver gone."""
    run_id = _build(root, "A", 2).run().run_id
    with open_store(root) as store:
        store.finish_run(run_id, "interrupted")
    return run_id


def _tags(root: Path, version: int) -> list[str]:
    files = sorted((root / "ua" / f"v{version}" / "baseline").glob("*/m.txt"), key=lambda f: int(f.parent.name))
    return [f.read_text() for f in files]


def _runs(root: Path) -> dict:
    return {run.run_id: run for run in list_runs(root, "ua")}


def _replaced_message(resumed: str, later: str) -> str:
    return (
        f"Not resuming run {resumed} of 'ua': a later run ({later}) has replaced its artifacts in v0 "
        "since; starting a new run"
    )


def _before_reopen(monkeypatch, action):
    """Run ``action`` the first time a run is reopened, just before the store reopens it
    (A chose R to resume and is about to reopen it)."""
    real = SQLiteRunStore.reopen_run
    done: list[bool] = []

    def reopen(self, *args, **kwargs):
        if not done:
            done.append(True)
            action()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteRunStore, "reopen_run", reopen)


@pytest.mark.filterwarnings("ignore:Experiment 'ua' ran while another run:RuntimeWarning")
def test_a_new_run_taking_v0_while_the_resume_picks_its_run_makes_the_resume_start_a_new_run(
    tmp_path, monkeypatch, caplog
):
    """S stores its run row and takes v0 after A chose R, before A reopens it, and is still
    running: A must not resume R into S's v0; it starts a new run, which S's live run in
    v0 sends to a side version."""
    root = tmp_path / "data"
    crashed = _crashed_run(root)
    results = {}
    s_thread = threading.Thread(target=lambda: results.__setitem__("S", _build(root, "S", 2).run()))

    def start_s():
        s_thread.start()
        assert S_RUNNING.wait(30)

    _before_reopen(monkeypatch, start_s)
    try:
        resumed = _build(root, "A", 4).run(strategy="resume")
    finally:
        RELEASE.set()
        s_thread.join(30)
    s = results["S"]
    runs = _runs(root)

    assert resumed.run_id not in (crashed, s.run_id)
    assert _replaced_message(crashed, s.run_id) in caplog.text
    assert (runs[crashed].status, runs[crashed].artifact_version, runs[crashed].n_records) == ("interrupted", 0, 2)
    assert (runs[s.run_id].status, runs[s.run_id].artifact_version) == ("completed", 0)
    side = runs[resumed.run_id].artifact_version
    assert runs[resumed.run_id].status == "completed" and side >= 1
    assert any(f"Run {s.run_id} of 'ua'" in w and "writing its artifacts to v0" in w for w in resumed.warnings)
    assert resumed.info["computed"] == 4  # a new run: nothing of R reused
    assert _tags(root, 0) == ["S:0", "S:1"]
    assert _tags(root, side) == [f"A:{r}" for r in range(4)]


def test_a_new_run_that_finished_before_the_resume_reopens_makes_it_start_a_new_run(tmp_path, monkeypatch, caplog):
    """S starts and ends between A's choice and its reopen: R's files in v0 are gone, so A
    starts a new run, which takes v0 (S is over)."""
    root = tmp_path / "data"
    crashed = _crashed_run(root)
    later = []
    RELEASE.set()  # S does not wait
    _before_reopen(monkeypatch, lambda: later.append(_build(root, "S", 2).run()))
    resumed = _build(root, "A", 4).run(strategy="resume")
    runs = _runs(root)

    assert resumed.run_id not in (crashed, later[0].run_id)
    assert _replaced_message(crashed, later[0].run_id) in caplog.text
    assert (runs[crashed].status, runs[crashed].artifact_version) == ("interrupted", 0)
    assert (runs[resumed.run_id].status, runs[resumed.run_id].artifact_version) == ("completed", 0)
    assert _tags(root, 0) == [f"A:{r}" for r in range(4)]


def test_a_new_run_starting_after_the_resume_reopened_leaves_v0_to_it(tmp_path, monkeypatch, caplog):
    """The mirror: A's reopen commits first, then S starts (in this process, before A
    computes anything): S finds R running in v0 and writes a side version."""
    root = tmp_path / "data"
    crashed = _crashed_run(root)
    later = []
    RELEASE.set()
    real = SQLiteRunStore.reopen_run

    def reopen_then_start_s(self, *args, **kwargs):
        run = real(self, *args, **kwargs)
        if not later:
            later.append(_build(root, "S", 2).run())
        return run

    monkeypatch.setattr(SQLiteRunStore, "reopen_run", reopen_then_start_s)
    resumed = _build(root, "A", 4).run(strategy="resume")
    s = later[0]
    runs = _runs(root)

    assert resumed.run_id == crashed and resumed.info["computed"] == 2
    assert "has replaced its artifacts" not in caplog.text
    assert (runs[crashed].status, runs[crashed].artifact_version) == ("completed", 0)
    side = runs[s.run_id].artifact_version
    assert runs[s.run_id].status == "completed" and side >= 1
    assert any(f"Run {crashed} of 'ua'" in w and "writing its artifacts to v0" in w for w in s.warnings)
    assert _tags(root, 0) == [f"A:{r}" for r in range(4)]
    assert _tags(root, side) == ["S:0", "S:1"]


# -- the store's check ---------------------------------------------------------------------

def _row(store, experiment="ua", version=0):
    return store.create_run(
        experiment=experiment, fingerprint="f", spec={}, replicates=1, conditions=["baseline"],
        base_seed=1, artifact_version=version,
    )


def test_reopen_unless_replaced_refuses_a_run_whose_version_a_later_run_took(tmp_path):
    from crystallize.store.run_rows import RunReplacedError

    with open_store(tmp_path / "data") as store:
        first = _row(store)
        store.finish_run(first.run_id, "interrupted")
        assert store.reopen_run(first.run_id, unless_replaced=True).status == "running"  # none later
        store.finish_run(first.run_id, "interrupted")
        _row(store, experiment="other")  # another experiment's v0 is not its
        _row(store, version=3)  # another version of its own experiment neither
        assert store.reopen_run(first.run_id, unless_replaced=True).status == "running"
        store.finish_run(first.run_id, "interrupted")
        later = _row(store)
        with pytest.raises(RunReplacedError) as raised:
            store.reopen_run(first.run_id, replicates=5, unless_replaced=True)
        assert (raised.value.run_id, raised.value.later_run, raised.value.version) == (first.run_id, later.run_id, 0)
        assert f"a later run ({later.run_id}) has taken over its artifacts in v0" in str(raised.value)
        left = store.get_run(first.run_id)
        assert (left.status, left.replicates, left.pid) == ("interrupted", 1, first.pid)  # untouched
        # The later run the caller found and accepted is no reason; a newer one is.
        assert store.reopen_run(first.run_id, unless_replaced=True, known_later_run=later.run_id).status == "running"
        store.finish_run(first.run_id, "interrupted")
        newer = _row(store)
        with pytest.raises(RunReplacedError) as raised:
            store.reopen_run(first.run_id, unless_replaced=True, known_later_run=later.run_id)
        assert raised.value.later_run == newer.run_id
        assert store.reopen_run(first.run_id).status == "running"  # not asked: reopened as before


def test_a_run_stored_without_its_version_counts_as_v0(tmp_path):
    from crystallize.store.run_rows import RunReplacedError

    with open_store(tmp_path / "data") as store:
        old = _row(store, version=None)
        store.finish_run(old.run_id, "interrupted")
        later = _row(store, version=None)
        with pytest.raises(RunReplacedError) as raised:
            store.reopen_run(old.run_id, artifact_version=2, unless_replaced=True)
        assert raised.value.later_run == later.run_id
        assert store.get_run(old.run_id).artifact_version is None  # left as it was


# -- two processes ---------------------------------------------------------------------------

MODULE = textwrap.dedent(
    """
    import os
    from pathlib import Path
    from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
    from crystallize.artifacts import Artifact

    @data_source
    def one(ctx):
        return 1

    @pipeline_step()
    def writes(data, ctx, *, tag="A", out: Artifact = Artifact("m.txt")):
        hold = os.environ.get("HOLD_FILE")
        if tag == "S" and hold and ctx["replicate"] == 0:
            import time
            Path(hold + ".running").write_text("x")
            while Path(hold).exists():
                time.sleep(0.01)
        out.write(f"{tag}:{ctx['replicate']}")
        return data, {"n": 1}

    def build(root, tag, replicates):
        return Experiment(
            datasource=one(), pipeline=Pipeline([writes(tag=tag)]), name="ua", replicates=replicates,
            plugins=[ArtifactPlugin(root_dir=root), SeedPlugin(seed=1)],
        )
    """
)

RESUMER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from crystallize.store.sqlite import SQLiteRunStore
    import race_module

    root, entered, go = sys.argv[1:4]
    real = SQLiteRunStore.reopen_run

    def reopen(self, *args, **kwargs):  # R chosen: wait here until told to reopen it
        Path(entered).write_text("x")
        while not Path(go).exists():
            time.sleep(0.01)
        return real(self, *args, **kwargs)

    SQLiteRunStore.reopen_run = reopen
    result = race_module.build(root, "A", 4).run(strategy="resume")
    print(json.dumps({"run_id": result.run_id, "warnings": result.warnings}))
    """
)


def _wait_for(path: Path, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited early: {process.communicate()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_two_processes_resume_and_new_run_never_share_v0(tmp_path, monkeypatch):
    """The audit's case: ``crystallize run --strategy resume`` (A, another process) has
    chosen R when a plain run (S, this process) stores its run and takes v0; A then starts
    a new run, in a side version, and says why."""
    (tmp_path / "race_module.py").write_text(MODULE)
    (tmp_path / "resumer.py").write_text(RESUMER)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("race_module", None)
    import race_module

    root = tmp_path / "data"
    crashed = race_module.build(root, "A", 2).run().run_id
    with open_store(root) as store:
        store.finish_run(crashed, "interrupted")
    entered, go, hold = tmp_path / "entered", tmp_path / "go", tmp_path / "hold"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    env.pop("HOLD_FILE", None)
    resumer = subprocess.Popen(
        [sys.executable, str(tmp_path / "resumer.py"), str(root), str(entered), str(go)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    results = {}
    s_thread = None
    try:
        _wait_for(entered, resumer)
        hold.write_text("x")
        monkeypatch.setenv("HOLD_FILE", str(hold))
        s_thread = threading.Thread(target=lambda: results.__setitem__("S", race_module.build(root, "S", 2).run()))
        s_thread.start()
        _wait_for(Path(f"{hold}.running"))  # S runs in v0
        go.write_text("x")
        out, err = resumer.communicate(timeout=120)
    finally:
        hold.unlink(missing_ok=True)
        if s_thread is not None:
            s_thread.join(60)
        if resumer.poll() is None:
            resumer.kill()
            resumer.wait()
        sys.modules.pop("race_module", None)
    assert resumer.returncode == 0, err
    a = json.loads(out.strip().splitlines()[-1])
    s = results["S"]
    runs = _runs(root)

    assert a["run_id"] not in (crashed, s.run_id)
    assert _replaced_message(crashed, s.run_id) in err
    assert (runs[crashed].status, runs[crashed].artifact_version) == ("interrupted", 0)
    assert (runs[s.run_id].status, runs[s.run_id].artifact_version) == ("completed", 0)
    side = runs[a["run_id"]].artifact_version
    assert runs[a["run_id"]].status == "completed" and side >= 1
    assert any(f"Run {s.run_id} of 'ua'" in w for w in a["warnings"])
    assert _tags(root, 0) == ["S:0", "S:1"]
    assert _tags(root, side) == [f"A:{r}" for r in range(4)]
