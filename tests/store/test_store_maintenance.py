"""Deleting runs (with their artifact folders) and compacting the store file."""

from __future__ import annotations

import os
import sqlite3

import pytest

from crystallize.exceptions import StoreError
from crystallize.store import compact, delete_runs, list_runs, open_store
from crystallize.store.base import RunNotFoundError


def _add_run(root, experiment="study", version=None, *, finish="completed", payload=0):
    """Store a run (finished unless ``finish`` is None) and give it a ``v<version>`` folder."""
    with open_store(root) as store:
        run = store.create_run(
            experiment=experiment, fingerprint="f", spec={"blob": "x" * payload}, replicates=1,
            conditions=["baseline"], base_seed=1, artifact_version=version,
        )
        if finish is not None:
            store.finish_run(run.run_id, finish)
    if version is not None:
        folder = root / experiment / f"v{version}" / "baseline" / "0"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.txt").write_text("weights")
    return run.run_id


def _ids(root, experiment="study"):
    return [run.run_id for run in list_runs(root, experiment)]


def test_delete_named_runs_removes_records_and_their_own_versioned_folders(tmp_path):
    root = tmp_path / "data"
    first, second, third = (_add_run(root, version=v) for v in (0, 1, 2))
    other = _add_run(root, "other", version=0)
    deleted = delete_runs(root, "study", [first, third])
    assert sorted(run.run_id for run in deleted.runs) == sorted([first, third])
    assert sorted(p.name for p in deleted.artifact_dirs) == ["v0", "v2"]
    assert deleted.artifact_bytes == 2 * len("weights")
    assert _ids(root) == [second]
    assert sorted(p.name for p in (root / "study").iterdir()) == ["v1"]
    assert _ids(root, "other") == [other] and (root / "other" / "v0").is_dir()


def test_a_shared_unversioned_folder_goes_with_the_last_run_using_it(tmp_path):
    root = tmp_path / "data"
    old, new = _add_run(root, version=0), _add_run(root, version=0)
    assert delete_runs(root, "study", [old]).artifact_dirs == ()
    assert (root / "study" / "v0" / "baseline" / "0" / "model.txt").exists()
    assert [p.name for p in delete_runs(root, "study", [new]).artifact_dirs] == ["v0"]
    assert not (root / "study").exists()  # the emptied experiment folder goes too


def test_keep_last_and_status_select_what_to_prune(tmp_path):
    root = tmp_path / "data"
    ids = [_add_run(root, finish=status) for status in ("failed", "completed", "failed", "completed", "failed")]
    newest_first = ids[::-1]
    dry = delete_runs(root, "study", status="failed", keep_last=1, dry_run=True)
    assert [run.run_id for run in dry.runs] == [ids[2], ids[0]]
    assert _ids(root) == newest_first  # a dry run deletes nothing
    delete_runs(root, "study", status=["failed"], keep_last=1)
    assert _ids(root) == [ids[4], ids[3], ids[1]]
    delete_runs(root, "study", keep_last=2)
    assert _ids(root) == [ids[4], ids[3]]
    delete_runs(root, "study", keep_last=0)
    assert _ids(root) == []


def test_deleting_needs_a_selection_and_known_runs_of_that_experiment(tmp_path):
    root = tmp_path / "data"
    mine, theirs = _add_run(root), _add_run(root, "other")
    with pytest.raises(ValueError, match="keep_last=0 deletes every run"):
        delete_runs(root, "study")
    with pytest.raises(RunNotFoundError, match="No run with id 'nope'"):
        delete_runs(root, "study", [mine, "nope"])
    with pytest.raises(StoreError, match=f"run {theirs} belongs to experiment 'other', not 'study'"):
        delete_runs(root, "study", [theirs])
    with pytest.raises(StoreError, match="Unknown run status 'done'"):
        delete_runs(root, "study", status="done")
    assert _ids(root) == [mine] and _ids(root, "other") == [theirs]  # nothing was deleted
    with pytest.raises(StoreError, match="No run store in"):
        delete_runs(tmp_path / "nowhere", "study", keep_last=0)


def test_a_run_still_going_is_not_deleted(tmp_path):
    root = tmp_path / "data"
    done = _add_run(root, version=0)
    live = _add_run(root, version=1, finish=None)  # driven by this (living) process
    with pytest.raises(StoreError, match=f"run {live} of 'study' is still running in process {os.getpid()}"):
        delete_runs(root, "study", keep_last=0)
    assert _ids(root) == [live, done] and (root / "study" / "v1").is_dir()
    with pytest.raises(StoreError, match="still running"):
        compact(root)


def test_compact_gives_the_space_of_deleted_runs_back(tmp_path):
    root = tmp_path / "data"
    for _ in range(30):
        _add_run(root, payload=100_000)
    delete_runs(root, "study", keep_last=1)
    db = root / "crystallize.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] > 0
    before = db.stat().st_size + (os.path.getsize(f"{db}-wal") if os.path.exists(f"{db}-wal") else 0)
    reclaimed = compact(root)
    after = db.stat().st_size + (os.path.getsize(f"{db}-wal") if os.path.exists(f"{db}-wal") else 0)
    assert reclaimed == before - after and reclaimed > 2_000_000
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert len(_ids(root)) == 1
    with pytest.raises(StoreError, match="No run store in"):
        compact(tmp_path / "nowhere")


def test_a_run_resumed_after_it_was_selected_is_not_deleted(tmp_path, monkeypatch):
    """The check and the delete race: the deleting transaction looks at the status again."""
    import crystallize.store.maintenance as maintenance

    root = tmp_path / "data"
    run_id = _add_run(root, version=1)
    monkeypatch.setattr(maintenance, "_refuse_running", lambda runs, action: None)  # listed as not running
    with open_store(root) as store:
        store.reopen_run(run_id)  # ... then resumed by another process meanwhile
    with pytest.raises(StoreError, match="started running again"):
        delete_runs(root, "study", [run_id])
    assert _ids(root) == [run_id] and (root / "study" / "v1").is_dir()


def test_a_symlinked_artifact_folder_is_unlinked_and_its_target_kept(tmp_path):
    root = tmp_path / "data"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    run_id = _add_run(root, version=1)
    link = root / "study" / "v1"
    import shutil

    shutil.rmtree(link)
    link.symlink_to(outside, target_is_directory=True)
    deleted = delete_runs(root, "study", [run_id])
    assert deleted.artifact_dirs == (link,) and deleted.artifact_bytes == 0
    assert not link.is_symlink() and (outside / "precious.txt").read_text() == "keep me"


def test_one_run_id_given_as_a_string_is_a_clear_type_error(tmp_path):
    root = tmp_path / "data"
    run_id = _add_run(root)
    with pytest.raises(TypeError, match=r"for one run write \['"):
        delete_runs(root, "study", run_id)
    assert _ids(root) == [run_id]


def test_an_experiment_without_runs_in_the_store_is_an_error(tmp_path):
    root = tmp_path / "data"
    _add_run(root)
    with pytest.raises(StoreError, match=r"No run of experiment 'stdy'.*did you mean 'study'\?.*Experiments with runs there: study"):
        delete_runs(root, "stdy", keep_last=0)


def test_ctrl_c_while_folders_are_deleted_leaves_no_half_deleted_version(tmp_path, monkeypatch):
    """Folders are renamed aside before their files go, so an interrupted deletion never
    leaves a v<N> that upstream readers would take for the latest outputs."""
    import crystallize.store.maintenance as maintenance
    from crystallize.store.artifacts import latest_version

    root = tmp_path / "data"
    older, newer = _add_run(root, version=1), _add_run(root, version=2)

    def interrupted(path):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(maintenance, "remove_tree", interrupted)
        delete_runs(root, "study", [newer])
    assert latest_version(root, "study") == 1  # not the half-deleted v2
    assert any(p.name.startswith(".v2.trash-") for p in (root / "study").iterdir())
    delete_runs(root, "study", [older])  # the next deletion clears the leftovers
    assert not (root / "study").exists()


def test_compact_on_a_full_disk_says_how_much_space_it_needs(tmp_path, monkeypatch):
    from crystallize.store import maintenance

    root = tmp_path / "data"
    _add_run(root)
    real_connect = sqlite3.connect

    class FullDisk:
        """A connection whose VACUUM fails as SQLite does when the disk is full."""

        def __init__(self, *args, **kwargs):
            self.conn = real_connect(*args, **kwargs)

        def execute(self, sql, *args):
            if sql == "VACUUM":
                exc = sqlite3.OperationalError("database or disk is full")
                exc.sqlite_errorcode = sqlite3.SQLITE_FULL
                raise exc
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)

    monkeypatch.setattr(maintenance.sqlite3, "connect", FullDisk)
    with pytest.raises(StoreError, match=r"needs free space about the size of the store \(\d+\.\d MiB\)"):
        compact(root)
    monkeypatch.undo()
    assert len(_ids(root)) == 1  # nothing lost
