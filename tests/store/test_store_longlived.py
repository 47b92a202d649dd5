"""A data directory used for a long time: concurrent runs of one unversioned experiment,
a data directory deleted during a run, a store kept open between runs, unusable names."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import ExperimentValidationError, StoreError
from crystallize.store import latest_version, list_runs, open_store, shared
from crystallize.store.artifacts import SIDE_VERSION_MARKER
from crystallize.store.liveness import hostname

FAIL_ONCE: set[int] = set()


@data_source
def tag(ctx):
    """The replicate index."""
    return ctx["replicate"]


@pipeline_step()
def save(data, ctx, *, model: Artifact):
    """Write an artifact naming the writer; fail once for replicates in FAIL_ONCE."""
    if data in FAIL_ONCE:
        FAIL_ONCE.discard(data)
        raise RuntimeError("flaky")
    model.write(f"new {data}".encode())
    return data, {"score": float(data)}


@pipeline_step()
def wipe_data_dir(data, ctx):
    """Delete the data directory while the run goes (replicate 0 only)."""
    if data == 0:
        shutil.rmtree("data")
    return data, {"score": float(data)}


def experiment(pipeline: list, *, name: str | None = None, replicates: int = 3, **plugin) -> Experiment:
    return Experiment(
        datasource=tag(),
        pipeline=Pipeline(pipeline),
        replicates=replicates,
        name=name,
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir="data", **plugin)],
    )


@pytest.fixture(autouse=True)
def _fresh_shared_stores():
    shared.close_shared_stores()
    yield
    shared.close_shared_stores()


@pytest.fixture
def other_driver():
    """A live process standing in for another driver of a run."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def start_run_elsewhere(name: str, pid: int) -> str:
    """Store a ``running`` run of ``name`` in v0, driven by process ``pid`` on this host,
    with one artifact in v0 (what that run wrote so far)."""
    with open_store("data") as store:
        run = store.create_run(
            experiment=name, fingerprint="other", spec={}, replicates=3,
            conditions=["baseline"], base_seed=1, artifact_version=0,
        )
        store._connection().execute(
            "UPDATE runs SET pid = ?, hostname = ? WHERE run_id = ?", (pid, hostname(), run.run_id)
        )
    write_file("data/experiment/v0/baseline/0/model.bin", "other run")
    return run.run_id


def write_file(path: str, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


# -- 1. two live runs of one unversioned experiment --------------------------------------------
def test_a_run_started_while_another_live_run_uses_v0_writes_its_artifacts_elsewhere(other_driver):
    other = start_run_elsewhere("experiment", other_driver)
    result = experiment([save(model=Artifact("model.bin"))]).run()  # unnamed: "experiment"

    assert Path("data/experiment/v0/baseline/0/model.bin").read_text() == "other run"
    stored = {run.run_id: run for run in list_runs("data")}
    version = stored[result.run_id].artifact_version
    assert version == 1
    for replicate in range(3):
        assert Path(f"data/experiment/v1/baseline/{replicate}/model.bin").read_text() == f"new {replicate}"
    (warning,) = result.warnings
    assert other in warning and "data/experiment/v1" in warning and "still running" in warning
    assert stored[result.run_id].warnings == (warning,)
    assert latest_version("data", "experiment") == 0  # readers of the latest artifacts: v0


def test_a_run_left_running_by_a_dead_process_does_not_keep_v0(other_driver):
    with open_store("data") as store:
        dead = store.create_run(
            experiment="experiment", fingerprint="other", spec={}, replicates=3,
            conditions=["baseline"], base_seed=1, artifact_version=0,
        )
        store._connection().execute(  # its pid now names a process started after its last heartbeat
            "UPDATE runs SET pid = ?, hostname = ?, heartbeat_at = 0 WHERE run_id = ?",
            (other_driver, hostname(), dead.run_id),
        )
    write_file("data/experiment/v0/baseline/0/model.bin", "stale")

    result = experiment([save(model=Artifact("model.bin"))]).run()

    assert result.warnings == []
    assert Path("data/experiment/v0/baseline/0/model.bin").read_text() == "new 0"


def test_a_run_in_a_side_version_resumes_there(other_driver):
    start_run_elsewhere("experiment", other_driver)
    FAIL_ONCE.add(1)
    first = experiment([save(model=Artifact("model.bin"))]).run()
    assert len(first.errors) == 1

    resumed = experiment([save(model=Artifact("model.bin"))]).run(strategy="resume")

    assert resumed.run_id == first.run_id
    assert resumed.info["resumed"] == 2
    assert Path("data/experiment/v1/baseline/1/model.bin").read_text() == "new 1"
    assert not Path("data/experiment/v0/baseline/1/model.bin").exists()
    assert Path(f"data/experiment/v1/{SIDE_VERSION_MARKER}").is_file()


# -- 2. the data directory deleted during a run ------------------------------------------------
def test_a_data_directory_deleted_during_the_run_is_a_store_error():
    experiment([wipe_data_dir()], name="gone").run()  # the store exists and is kept open
    write_file("data/keep", "")  # the first run's wipe happened already

    result = experiment([wipe_data_dir()], name="gone").run()

    assert len(result.records) == 3
    error = result.info["store_error"]
    assert error.startswith("the run store 'data/crystallize.db' was deleted during the run")
    assert f"Run {result.run_id} is not stored: {error}." in result.warnings


def test_a_data_directory_replaced_during_the_run_is_a_store_error():
    @pipeline_step()
    def replace_data_dir(data, ctx):
        if data == 0:
            shutil.rmtree("data")
            open_store("data").close()  # someone else starts a fresh store there
        return data, {"score": float(data)}

    result = experiment([replace_data_dir()], name="replaced").run()

    assert "replaced by another file" in result.info["store_error"]
    assert list_runs("data") == []


def test_an_untouched_store_reports_no_error():
    result = experiment([save(model=Artifact("model.bin"))], name="fine").run()
    assert "store_error" not in result.info


# -- 3. the store kept open between runs -------------------------------------------------------
def test_an_idle_kept_store_is_checkpointed_so_its_file_alone_holds_the_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(shared, "IDLE_CHECKPOINT_AFTER", 0.05)
    ids = {experiment([save(model=Artifact("model.bin"))], name="copy").run().run_id for _ in range(3)}
    deadline = time.monotonic() + 10
    while True:
        shutil.copy("data/crystallize.db", tmp_path / "copy.db")  # without -wal and -shm
        copied = runs_in(tmp_path / "copy.db")
        if copied == ids or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert copied == ids


def runs_in(path: Path) -> set[str]:
    """Ids of the runs in database file ``path`` (none before it has the schema)."""
    copy = sqlite3.connect(path)
    try:
        return {row[0] for row in copy.execute("SELECT run_id FROM runs")}
    except sqlite3.DatabaseError:  # no such table (nothing checkpointed yet), or a copy
        return set()  # taken while a checkpoint wrote the file ("malformed"): try again
    finally:
        copy.close()


def test_a_store_in_use_is_not_checkpointed_until_released(monkeypatch):
    monkeypatch.setattr(shared, "IDLE_CHECKPOINT_AFTER", 0.01)
    calls = []
    store = shared.shared_store("data")
    monkeypatch.setattr(store, "checkpoint", lambda: calls.append(time.monotonic()))
    time.sleep(0.1)
    assert calls == []  # held: never checkpointed
    released = time.monotonic()
    shared.release_shared_store(store)
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 1 and calls[0] >= released
    time.sleep(0.1)
    assert len(calls) == 1  # once per idle spell


# -- 4. names that cannot be directories -------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("crystallize.db", "store keeps a file or directory of that name"),
        ("crystallize.db-wal", "store keeps"),
        ("Crystallize.db-shm", "store keeps"),
        (".cache", "store keeps"),
        pytest.param("x" * 256, "256 bytes long", id="256-ascii"),
        pytest.param("é" * 128, "256 bytes long", id="128-two-byte"),
    ],
)
def test_experiment_names_the_store_cannot_use_are_refused_by_validate(name, why):
    exp = experiment([save(model=Artifact("model.bin"))], name=name)
    with pytest.raises(ExperimentValidationError, match=why) as caught:
        exp.validate()
    assert len(str(caught.value)) < 1000
    with pytest.raises(ExperimentValidationError):
        exp.run()
    assert not Path("data/crystallize.db").exists()


def test_a_name_of_255_bytes_is_fine():
    experiment([save(model=Artifact("model.bin"))], name="x" * 255).validate()


@pytest.mark.parametrize(
    ("name", "why"), [pytest.param("t" * 300, "300 bytes long", id="300"), (SIDE_VERSION_MARKER, "store keeps")]
)
def test_treatment_names_that_cannot_be_directories_are_refused_by_validate(name, why):
    exp = experiment([save(model=Artifact("model.bin"))], name="tr")
    exp.treatments = [treatment(name, {"x": 1})]
    with pytest.raises(ExperimentValidationError, match=f"treatment name .*{why}"):
        exp.validate()


def test_a_long_treatment_name_is_fine_when_nothing_writes_artifacts():
    exp = experiment([wipe_data_dir()], name="tr")
    exp.treatments = [treatment("t" * 300, {"x": 1})]
    exp.validate()


@pytest.mark.parametrize("versioned", [False, True])
def test_a_file_where_the_experiment_directory_goes_fails_before_a_run_is_stored(versioned):
    experiment([save(model=Artifact("model.bin"))], name="first").run()  # the store exists
    write_file("data/study", "not a directory")
    exp = experiment([save(model=Artifact("model.bin"))], name="study", versioned=versioned)

    with pytest.raises(StoreError, match=r"'data/study' is a file, not a directory\. Move that file away, or give the experiment another name\.$"):
        exp.run()

    assert [run.experiment for run in list_runs("data")] == ["first"]


def test_v0_that_cannot_be_emptied_ends_the_stored_run_failed_saying_why(monkeypatch):
    import crystallize.store

    def refuse(*args):
        raise PermissionError(13, "Permission denied", "data/locked/v0")

    monkeypatch.setattr(crystallize.store, "reset_version_dir", refuse)
    with pytest.raises(StoreError, match="Cannot prepare the artifact directory 'data/locked'") as caught:
        experiment([save(model=Artifact("model.bin"))], name="locked").run()

    (run,) = list_runs("data")
    assert run.status == "failed"
    assert run.warnings == (f"the run could not start: {caught.value}",)
    assert "Permission denied" in str(caught.value)
    # no file is in the way, so "move it away" would be wrong advice: store elsewhere
    assert "Move" not in str(caught.value)
    assert "ArtifactPlugin(root_dir=...)" in str(caught.value)
