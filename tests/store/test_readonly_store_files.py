"""A store read while crystallize.db is read-only can be written again once it is made
writable, and a write refused because of a read-only file names that file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import StoreError
from crystallize.store.shared import close_shared_stores
from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore

#: As root, file permissions are only enforced without these capabilities.
DROP_CAPS = "-dac_override,-dac_read_search"

#: Run in a child process: read the store, or write to it (delete a run), or read it
#: with plain SQLite as older versions did; a refused write prints its message.
SCRIPT = textwrap.dedent(
    """
    import sqlite3, sys
    from crystallize.exceptions import StoreError
    from crystallize.store import list_runs, open_store

    action, root, run_id = sys.argv[1:]
    try:
        if action == "read":
            list_runs(root)
        elif action == "sqlite-read":
            conn = sqlite3.connect(f"file:{root}/crystallize.db?mode=ro", uri=True)
            conn.execute("SELECT count(*) FROM runs").fetchone()
            conn.close()
        else:
            store = open_store(root)
            store.delete_run(run_id)
            store.close()
    except StoreError as exc:
        print(exc)
        sys.exit(1)
    """
)


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


@pytest.fixture
def stored(tmp_path):
    """A data directory holding one run, and that run's id; the store is closed, so its
    log files are gone (as after a command)."""
    result = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="kept",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data")],
    ).run()
    close_shared_stores()
    root = tmp_path / "data"
    assert not Path(f"{root / DB_FILENAME}-shm").exists()
    return root, result.run_id


def unprivileged(action: str, root: Path, run_id: str) -> subprocess.CompletedProcess[str]:
    """Run ``action`` of :data:`SCRIPT` in a process that file permissions apply to."""
    command = [sys.executable, "-c", SCRIPT, action, str(root), run_id]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("as root, file permissions need setpriv to be enforced")
        command = ["setpriv", f"--inh-caps={DROP_CAPS}", f"--bounding-set={DROP_CAPS}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def succeeds(action: str, root: Path, run_id: str) -> None:
    proc = unprivileged(action, root, run_id)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)


def refused(action: str, root: Path, run_id: str) -> str:
    """The message of the StoreError that ``action`` fails with."""
    proc = unprivileged(action, root, run_id)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture
def db_made_read_only(stored):
    """``stored`` with crystallize.db made read-only; writable again afterwards."""
    root, run_id = stored
    db = root / DB_FILENAME
    db.chmod(0o444)
    yield root, run_id, db
    db.chmod(0o644)


def test_a_store_read_while_read_only_is_writable_once_the_database_is(db_made_read_only):
    root, run_id, db = db_made_read_only
    succeeds("read", root, run_id)
    shm = Path(f"{db}-shm")
    assert shm.exists() and os.stat(shm).st_mode & 0o200  # not the database's r--r--r--
    db.chmod(0o644)
    succeeds("write", root, run_id)


def test_a_refused_write_names_the_read_only_database_and_leaves_nothing_read_only(db_made_read_only):
    root, run_id, db = db_made_read_only
    message = refused("write", root, run_id)
    assert f"{str(db)!r} is read-only for this user: make it writable" in message, message
    db.chmod(0o644)
    succeeds("write", root, run_id)


def test_a_read_only_shm_left_by_an_older_version_is_named(db_made_read_only):
    root, run_id, db = db_made_read_only
    succeeds("sqlite-read", root, run_id)  # leaves a -shm with the database's mode
    db.chmod(0o644)
    message = refused("write", root, run_id)
    assert f"{str(db)!r}: could not write: attempt to write a readonly database." in message, message
    assert f"{str(db) + '-shm'!r} is read-only for this user" in message, message
    assert "remove it while no process uses the store" in message, message
    Path(f"{db}-shm").unlink()
    succeeds("write", root, run_id)


def test_a_write_refused_with_every_file_writable_keeps_the_general_advice(stored):
    root, run_id = stored
    with (
        SQLiteRunStore(root / DB_FILENAME, read_only=True) as store,
        pytest.raises(StoreError, match="Check that the directory exists and is writable"),
    ):
        store.delete_run(run_id)


@pytest.mark.parametrize(
    ("unwritable", "advice"),
    [
        ("crystallize.db-wal", "is read-only for this user and holds commits not yet in crystallize.db: "
                               "make it writable (do not remove it)."),
        ("crystallize.db-shm", "is read-only for this user (left by another user, or by a read of the store "
                               "while crystallize.db was read-only): make it writable, or remove it"),
        (".", "is read-only for this user: make it writable, or use another data directory."),
    ],
    ids=["wal", "shm", "directory"],
)
def test_a_refused_write_names_the_file_this_user_cannot_write(stored, monkeypatch, unwritable, advice):
    root, run_id = stored
    path = os.path.normpath(root / unwritable)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: os.fspath(p) != path and real_access(p, mode, **kw))
    with SQLiteRunStore(root / DB_FILENAME, checkpoint_bytes=0) as writer:
        writer.set_artifact_version(run_id, 2)  # a commit that stays in the log
        assert os.path.getsize(f"{root / DB_FILENAME}-wal")
        with SQLiteRunStore(root / DB_FILENAME, read_only=True) as reader, pytest.raises(StoreError) as refusal:
            reader.delete_run(run_id)
    assert f"{path!r} {advice}" in str(refusal.value)
    assert "Check that the directory" not in str(refusal.value)


def _mount_read_only(monkeypatch) -> None:
    """Make ``os.statvfs`` report every file system as mounted read-only."""
    real_statvfs = os.statvfs

    class _ReadOnly:
        def __init__(self, result):
            self.f_flag = result.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: _ReadOnly(real_statvfs(p)))


def test_a_write_refused_on_a_read_only_mount_says_so(stored, monkeypatch):
    # Was "'crystallize.db' is read-only for this user: make it writable", which no
    # permission change fixes on a file system mounted read-only.
    root, run_id = stored
    _mount_read_only(monkeypatch)
    with (
        SQLiteRunStore(root / DB_FILENAME, read_only=True) as store,
        pytest.raises(StoreError, match="is mounted read-only: remount it writable, or use another data directory"),
    ):
        store.delete_run(run_id)


def test_a_store_that_cannot_be_opened_on_a_read_only_mount_says_so(stored, monkeypatch):
    # A store closed cleanly (no -wal, no -shm) on a read-only mount fails to open with
    # "unable to open database file": that too names the mount.
    import sqlite3

    root, _ = stored
    with SQLiteRunStore(root / DB_FILENAME, read_only=True) as store:
        plain = store._error(sqlite3.OperationalError("unable to open database file"), "open")
        _mount_read_only(monkeypatch)
        mounted = store._error(sqlite3.OperationalError("unable to open database file"), "open")
    assert "Check that the directory exists and is writable" in str(plain)
    assert "is mounted read-only: remount it writable" in str(mounted)
