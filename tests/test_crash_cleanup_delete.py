"""A deletion killed after its runs' transaction committed leaves their ``v<N>`` folders;
the next ``delete_runs`` or ``compact`` removes them, and never a folder a run may use.

The kill is real: a subprocess deletes runs and SIGKILLs itself the moment the deleting
transaction has committed, before any folder is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from crystallize.exceptions import StoreError
from crystallize.store import compact, delete_runs, list_runs, open_store
from crystallize.store.artifacts import SIDE_VERSION_MARKER, latest_version

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

#: Deletes runs of 'study' and dies (SIGKILL) right after the transaction commits.
KILLED_DELETE = textwrap.dedent(
    """
    import os, signal, sys
    from crystallize.store import delete_runs
    from crystallize.store.sqlite import SQLiteRunStore

    real = SQLiteRunStore.delete_runs

    def delete_then_die(self, *args, **kwargs):
        real(self, *args, **kwargs)  # committed
        os.kill(os.getpid(), signal.SIGKILL)

    SQLiteRunStore.delete_runs = delete_then_die
    delete_runs(sys.argv[1], "study", keep_last=int(sys.argv[2]))
    """
)


def _add_run(root, version, *, experiment="study", finish="completed", files=True, conditions=("baseline",)):
    """Store a run with ``artifact_version`` ``version`` and give it a folder with a file
    per condition."""
    with open_store(root) as store:
        run = store.create_run(
            experiment=experiment, fingerprint="f", spec={}, replicates=1,
            conditions=["baseline"], base_seed=1, artifact_version=version,
        )
        if finish is not None:
            store.finish_run(run.run_id, finish)
    for condition in conditions if files and version is not None else ():
        folder = root / experiment / f"v{version}" / condition / "0"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.txt").write_text("weights")
    return run.run_id


def _kill_while_deleting(root, keep_last):
    done = subprocess.run([sys.executable, "-c", KILLED_DELETE, str(root), str(keep_last)], timeout=120)
    assert done.returncode == -9


def _names(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _make_old(path, seconds=2 * 3600):
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_the_next_delete_removes_the_folders_of_runs_deleted_by_a_killed_delete(tmp_path):
    root = tmp_path / "data"
    for version in (1, 2, 3):
        _add_run(root, version)
    _kill_while_deleting(root, keep_last=1)
    assert len(list_runs(root, "study")) == 1  # the deletion committed ...
    assert [n for n in _names(root / "study") if n.startswith("v")] == ["v1", "v2", "v3"]  # ... folders stayed

    deleted = delete_runs(root, "study", status="failed")  # deletes no run, clears what was left
    assert deleted.runs == ()
    assert sorted(p.name for p in deleted.artifact_dirs) == ["v1", "v2"]
    assert deleted.artifact_bytes == 2 * len("weights")
    assert _names(root / "study") == ["v3"]


def test_compact_removes_them_too(tmp_path):
    root = tmp_path / "data"
    for version in (1, 2, 3):
        _add_run(root, version)
    _kill_while_deleting(root, keep_last=1)
    compact(root)
    assert _names(root / "study") == ["v3"]
    assert latest_version(root, "study") == 3


@pytest.mark.parametrize("conditions", [1, 12])
def test_after_every_run_was_deleted_the_next_delete_and_compact_remove_their_folders(tmp_path, conditions):
    root = tmp_path / "data"
    for version in (1, 2):
        _add_run(root, version, conditions=[f"c{i}" for i in range(conditions)])
    _add_run(root, 0, experiment="other")
    _kill_while_deleting(root, keep_last=0)
    assert list_runs(root, "study") == []

    dry = delete_runs(root, "study", keep_last=0, dry_run=True)  # not "no run of 'study'"
    assert dry.runs == () and sorted(p.name for p in dry.artifact_dirs) == ["v1", "v2"]
    assert [n for n in _names(root / "study") if n.startswith("v")] == ["v1", "v2"]
    deleted = delete_runs(root, "study", keep_last=0)
    assert sorted(p.name for p in deleted.artifact_dirs) == ["v1", "v2"]
    assert not (root / "study").exists()
    assert _names(root / "other") == ["v0"]


def test_compact_after_every_run_was_deleted(tmp_path):
    root = tmp_path / "data"
    for version in (1, 2):
        _add_run(root, version)
    _add_run(root, 0, experiment="other")
    _kill_while_deleting(root, keep_last=0)
    compact(root)
    assert not (root / "study").exists()
    assert _names(root / "other") == ["v0"]


def test_an_unversioned_experiment_s_v0_after_a_killed_delete(tmp_path):
    root = tmp_path / "data"
    _add_run(root, 0)
    _add_run(root, 0)
    _kill_while_deleting(root, keep_last=0)
    delete_runs(root, "study", keep_last=0)
    assert not (root / "study").exists()


def test_trash_of_an_interrupted_removal_goes_even_when_nothing_is_deleted(tmp_path):
    root = tmp_path / "data"
    _add_run(root, 1, experiment="other")
    trash = root / "study" / ".v1.trash-0123abcd"  # every run of 'study' deleted, removal stopped
    (trash / "baseline" / "0").mkdir(parents=True)
    (trash / "baseline" / "0" / "model.txt").write_text("weights")
    compact(root)
    assert not (root / "study").exists()

    (trash / "baseline").mkdir(parents=True)
    deleted = delete_runs(root, "study", keep_last=0)  # no run of 'study', but its leftovers
    assert deleted.runs == () and deleted.artifact_dirs == ()
    assert not (root / "study").exists()


def test_an_experiment_without_runs_or_leftovers_is_still_an_error(tmp_path):
    root = tmp_path / "data"
    _add_run(root, 1)
    with pytest.raises(StoreError, match="No run of experiment 'stdy'"):
        delete_runs(root, "stdy", keep_last=0)


def test_a_folder_a_starting_run_has_just_claimed_is_kept(tmp_path):
    """A versioned run creates its v<N> before its row is stored: an empty folder no run
    references yet may be a run starting, so it stays until it is old."""
    root = tmp_path / "data"
    _add_run(root, 1)
    _add_run(root, 2)
    (root / "study" / "v3").mkdir()  # claimed, row not written yet
    side = root / "study" / "v4"  # a side version claimed, its row still says v0
    side.mkdir()
    (side / SIDE_VERSION_MARKER).write_text("side")
    delete_runs(root, "study", status="failed")
    compact(root)
    assert _names(root / "study") == ["v1", "v2", "v3", "v4"]

    _make_old(root / "study" / "v3")  # a claim whose run never stored its row (failed start)
    _make_old(side)
    kept = delete_runs(root, "study", status="failed")
    assert sorted(p.name for p in kept.artifact_dirs) == ["v3", "v4"]
    assert _names(root / "study") == ["v1", "v2"]


def test_orphans_are_kept_while_a_run_does_not_record_its_folder(tmp_path):
    """Runs stored before Crystallize recorded ``artifact_version`` may use any v<N>."""
    root = tmp_path / "data"
    _add_run(root, None)
    _add_run(root, 1)
    stray = root / "study" / "v2" / "baseline" / "0"
    stray.mkdir(parents=True)
    (stray / "model.txt").write_text("weights")
    deleted = delete_runs(root, "study", status="failed")
    assert deleted.artifact_dirs == () and deleted.kept_dirs == (root / "study" / "v2",)
    compact(root)
    assert _names(root / "study") == ["v1", "v2"]


def test_unmarked_folders_of_an_experiment_without_runs_are_kept(tmp_path):
    """Nothing says they were a deleted run's (the store may have been replaced): kept."""
    root = tmp_path / "data"
    _add_run(root, 1, experiment="other")
    stray = root / "study" / "v1" / "baseline" / "0"
    stray.mkdir(parents=True)
    (stray / "model.txt").write_text("weights")
    compact(root)
    with pytest.raises(StoreError, match="No run of experiment 'study'"):
        delete_runs(root, "study", keep_last=0)
    assert _names(root / "study") == ["v1"]


def test_a_folder_of_a_live_run_is_never_removed(tmp_path):
    root = tmp_path / "data"
    _add_run(root, 1)
    _add_run(root, 2, finish=None)  # running, driven by this process
    delete_runs(root, "study", status="failed")
    assert _names(root / "study") == ["v1", "v2"]


def test_a_deletion_that_fails_leaves_no_mark_in_the_folders(tmp_path):
    import sqlite3

    root = tmp_path / "data"
    ids = [_add_run(root, version) for version in (1, 2)]
    conn = sqlite3.connect(root / "crystallize.db")
    conn.execute(
        "CREATE TRIGGER fail_delete BEFORE DELETE ON runs "
        f"WHEN old.run_id = '{ids[1]}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="Nothing was deleted"):
        delete_runs(root, "study", keep_last=0)
    for version in (1, 2):
        assert _names(root / "study" / f"v{version}") == ["baseline"]
