"""Reading past runs never creates a store, and says where it looked."""

from __future__ import annotations

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.exceptions import StoreError
from crystallize.store import latest_result, list_runs, load_result
from crystallize.store.base import RunNotFoundError


@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx):
    return data, {"value": data}


@pytest.fixture
def stored(tmp_path):
    result = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="kept",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data")],
    ).run()
    return tmp_path / "data", result.run_id


@pytest.mark.parametrize("read", [list_runs, lambda root: load_result("abc", root), lambda root: latest_result("kept", root)])
def test_a_wrong_root_is_an_error_and_nothing_is_created(tmp_path, read):
    missing = tmp_path / "no_such_root"
    with pytest.raises(StoreError, match=r"No run store in '.*no_such_root' \(the directory does not exist\)"):
        read(missing)
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreError, match=r"holds no crystallize\.db.*ArtifactPlugin root_dir"):
        read(empty)
    assert list(empty.iterdir()) == []


def test_swapped_arguments_do_not_create_a_store(stored, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="No run store in 'kept'"):
        list_runs("kept", "data")  # (experiment, root) instead of (root, experiment)
    assert not (tmp_path / "kept").exists()


def test_an_unknown_run_id_names_the_store_it_looked_in(stored):
    root, run_id = stored
    with pytest.raises(RunNotFoundError, match=r"No run with id 'nope' in the store '.*crystallize\.db'"):
        load_result("nope", root)
    assert load_result(run_id, root).metrics.baseline.metrics["value"] == [1]
    assert [run.run_id for run in list_runs(root, "kept")] == [run_id]
    assert latest_result("other", root) is None


# -- history on a data directory that cannot be written ---------------------------------------


def _read_everything(root, run_id):
    assert [run.run_id for run in list_runs(root)] == [run_id]
    assert load_result(run_id, root).metrics.baseline.metrics["value"] == [1]
    assert latest_result("kept", root).run_id == run_id


@pytest.fixture
def read_only_mount(monkeypatch):
    """Behave like a read-only mount: every way of opening the database that may write
    fails as SQLite fails there, only ``immutable=1`` opens it."""
    import sqlite3

    from crystallize.store.shared import close_shared_stores

    close_shared_stores()  # as on a mount: the store was closed (its log checkpointed)

    real_connect = sqlite3.connect
    attempts = []

    def connect(target, *args, uri=False, **kwargs):
        attempts.append(str(target))
        if not (uri and "immutable=1" in str(target)):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(target, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    return attempts


def test_history_reads_a_store_on_a_read_only_mount(stored, read_only_mount):
    root, run_id = stored
    _read_everything(root, run_id)
    assert any("mode=ro" in a for a in read_only_mount)  # tried before immutable=1


def test_history_reads_a_store_whose_housekeeping_cannot_write(stored, monkeypatch):
    """A full disk or read-only file: marking stale runs fails; reading must not."""
    import sqlite3

    from crystallize.store.sqlite import SQLiteRunStore

    def refuse(self):
        try:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        except sqlite3.Error as exc:
            raise self._error(exc, "write") from exc

    monkeypatch.setattr(SQLiteRunStore, "mark_stale_runs", refuse)
    root, run_id = stored
    _read_everything(root, run_id)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root ignores directory permissions")
def test_history_reads_a_read_only_directory(stored):
    import os
    import stat

    root, run_id = stored
    os.chmod(root, stat.S_IRUSR | stat.S_IXUSR)
    try:
        _read_everything(root, run_id)
    finally:
        os.chmod(root, stat.S_IRWXU)


def test_a_read_only_store_refuses_writes_with_a_clear_error(stored):
    from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore

    root, run_id = stored
    with SQLiteRunStore(root / DB_FILENAME, read_only=True) as store:
        assert store.get_run(run_id).status == "completed"
        with pytest.raises(StoreError, match="readonly"):
            store.delete_run(run_id)
