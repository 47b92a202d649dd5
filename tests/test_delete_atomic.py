"""``delete_runs`` deletes all the chosen runs or none of them.

A store that fails midway (a full disk, a corrupt page) used to lose some runs and report
only an error, leaving the artifact folders of the deleted ones behind. The failure here
is a real SQLite error: a trigger that aborts the deletion of one run, as a full disk
would.
"""

from __future__ import annotations

import sqlite3

import pytest

from crystallize.exceptions import StoreError
from crystallize.store import delete_runs, list_runs, open_store


def _add_run(root, version):
    with open_store(root) as store:
        run = store.create_run(
            experiment="study", fingerprint="f", spec={}, replicates=1,
            conditions=["baseline"], base_seed=1, artifact_version=version,
        )
        store.finish_run(run.run_id, "completed")
    folder = root / "study" / f"v{version}" / "baseline" / "0"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.txt").write_text("weights")
    return run.run_id


def _fail_when_deleting(root, run_id):
    """Make SQLite fail the deletion of ``run_id`` (as 'database or disk is full')."""
    conn = sqlite3.connect(root / "crystallize.db")
    conn.execute(
        "CREATE TRIGGER fail_delete BEFORE DELETE ON runs "
        f"WHEN old.run_id = '{run_id}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    conn.commit()
    conn.close()


def _remaining(root):
    return sorted(run.run_id for run in list_runs(root, "study"))


@pytest.mark.parametrize("versioned", [True, False])
def test_a_failure_midway_deletes_nothing(tmp_path, versioned):
    root = tmp_path / "data"
    ids = [_add_run(root, version=v if versioned else 0) for v in range(4)]
    newest_first = ids[::-1]
    _fail_when_deleting(root, newest_first[2])  # the second of the three chosen runs
    with pytest.raises(StoreError) as info:
        delete_runs(root, "study", keep_last=1)
    message = str(info.value)
    assert "database or disk is full" in message and "Nothing was deleted" in message
    assert _remaining(root) == sorted(ids)
    expected = [f"v{v}" for v in range(4)] if versioned else ["v0"]
    assert sorted(p.name for p in (root / "study").iterdir()) == expected


def test_after_a_failure_the_same_deletion_succeeds_in_full(tmp_path):
    root = tmp_path / "data"
    ids = [_add_run(root, version=v) for v in range(4)]
    _fail_when_deleting(root, ids[1])
    with pytest.raises(StoreError):
        delete_runs(root, "study", keep_last=1)
    conn = sqlite3.connect(root / "crystallize.db")
    conn.execute("DROP TRIGGER fail_delete")
    conn.commit()
    conn.close()
    deleted = delete_runs(root, "study", keep_last=1)
    assert sorted(run.run_id for run in deleted.runs) == sorted(ids[:3])
    assert sorted(p.name for p in deleted.artifact_dirs) == ["v0", "v1", "v2"]
    assert _remaining(root) == [ids[3]]
    assert sorted(p.name for p in (root / "study").iterdir()) == ["v3"]


def test_a_run_that_started_again_meanwhile_stops_the_whole_deletion(tmp_path):
    root = tmp_path / "data"
    ids = [_add_run(root, version=v) for v in range(3)]
    conn = sqlite3.connect(root / "crystallize.db")  # resumed by another process after listing
    conn.execute(
        f"CREATE TRIGGER resumed BEFORE DELETE ON runs WHEN old.run_id = '{ids[2]}' BEGIN "
        f"UPDATE runs SET status = 'running', pid = 1, hostname = 'elsewhere' WHERE run_id = '{ids[0]}'; END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=f"run {ids[0]} started running again.*nothing was deleted"):
        delete_runs(root, "study", keep_last=0)
    assert _remaining(root) == sorted(ids)
    assert sorted(p.name for p in (root / "study").iterdir()) == ["v0", "v1", "v2"]
