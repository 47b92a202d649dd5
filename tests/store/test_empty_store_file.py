"""An empty ``crystallize.db`` (0 bytes), as the first run on a full disk used to leave.

Creating the store on a full disk fails (a clear error); the file that attempt created
is removed again while it is still empty, never a file that was there before or that
holds data. A 0-byte store file read where it cannot be written reads as a store
without runs, as a missing store does, instead of "database or disk is full".

A full disk is simulated: the store's set-up raises SQLite's own error.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from crystallize.cli.main import main
from crystallize.exceptions import StoreError
from crystallize.store import RunNotFoundError, list_runs, open_store
from crystallize.store.opening import open_existing_store
from crystallize.store.sqlite import DB_FILENAME, SQLiteRunStore

FULL = "database or disk is full"


def _fail_set_up(monkeypatch: pytest.MonkeyPatch, message: str = FULL, before=None) -> None:
    """Make setting up a writable store fail as SQLite does, with ``message`` (after
    calling ``before(store)``, when given)."""

    def init_schema(self: SQLiteRunStore) -> None:
        if before is not None:
            before(self)
        exc = sqlite3.OperationalError(message)
        raise self._error(exc, "open") from exc

    monkeypatch.setattr(SQLiteRunStore, "_init_schema", init_schema)


def _write_experiment(root: Path, name: str = "tiny") -> None:
    folder = root / "experiments" / name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        f"name: {name}\nreplicates: 2\ndatasource: numbers\nsteps:\n  - count\n", encoding="utf-8"
    )
    (folder / "datasources.py").write_text(
        textwrap.dedent(
            """
            from crystallize import data_source


            @data_source
            def numbers(ctx):
                return 1
            """
        ),
        encoding="utf-8",
    )
    (folder / "steps.py").write_text(
        textwrap.dedent(
            """
            from crystallize import pipeline_step


            @pipeline_step()
            def count(data, ctx):
                return data, {"x": float(ctx["replicate"])}
            """
        ),
        encoding="utf-8",
    )


# -- (a) a store that could not be created leaves no file ---------------------------------


def test_a_store_created_on_a_full_disk_leaves_no_file(tmp_path, monkeypatch):
    _fail_set_up(monkeypatch)
    with pytest.raises(StoreError, match="disk is full.*free space"):
        open_store(tmp_path / "data")

    assert (tmp_path / "data").is_dir()
    assert list((tmp_path / "data").iterdir()) == []


def test_an_empty_store_file_that_was_there_is_kept(tmp_path, monkeypatch):
    db = tmp_path / DB_FILENAME
    db.write_bytes(b"")
    _fail_set_up(monkeypatch)
    with pytest.raises(StoreError, match="disk is full"):
        SQLiteRunStore(db)

    assert db.is_file() and db.stat().st_size == 0


def test_a_created_file_that_holds_data_is_kept(tmp_path, monkeypatch):
    db = tmp_path / DB_FILENAME
    _fail_set_up(monkeypatch, before=lambda store: store.path.write_bytes(b"x" * 10))
    with pytest.raises(StoreError, match="disk is full"):
        SQLiteRunStore(db)

    assert db.read_bytes() == b"x" * 10


def test_a_created_file_replaced_meanwhile_is_kept(tmp_path, monkeypatch):
    db = tmp_path / DB_FILENAME

    def replace(store: SQLiteRunStore) -> None:
        store.path.rename(store.path.with_name("moved.db"))  # kept: its inode is not reused
        store.path.write_bytes(b"")  # another file of that name, not the one created

    _fail_set_up(monkeypatch, before=replace)
    with pytest.raises(StoreError, match="disk is full"):
        SQLiteRunStore(db)

    assert db.is_file()


def test_a_created_file_is_kept_when_the_disk_is_not_the_problem(tmp_path, monkeypatch):
    # A lock held too long: another process may be setting the new file up right now.
    db = tmp_path / DB_FILENAME
    _fail_set_up(monkeypatch, "database is locked")
    with pytest.raises(StoreError, match="locked"):
        SQLiteRunStore(db)

    assert db.is_file()


# -- (b) a 0-byte store file reads as a store without runs --------------------------------


def test_an_empty_file_opened_read_only_has_no_runs(tmp_path):
    db = tmp_path / DB_FILENAME
    db.write_bytes(b"")
    store = SQLiteRunStore(db, read_only=True)
    try:
        assert store.list_runs() == []
        assert store.list_runs("tiny", limit=1) == []
        with pytest.raises(RunNotFoundError):
            store.get_run("abc123")
        with pytest.raises(StoreError, match="readonly"):
            store.delete_runs(["abc123"])
        with store.transaction() as conn:  # the schema of a new store
            assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
    finally:
        store.close()

    assert db.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_FILENAME]


def test_an_empty_file_that_cannot_be_written_reads_as_no_runs(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DB_FILENAME).write_bytes(b"")
    _fail_set_up(monkeypatch)

    with open_existing_store(tmp_path / "data") as store:
        assert store.read_only
        assert store.list_runs() == []
    assert list_runs(tmp_path / "data", "tiny") == []
    assert (tmp_path / "data" / DB_FILENAME).stat().st_size == 0


def test_a_store_file_with_some_tables_but_no_runs_is_still_refused(tmp_path):
    db = tmp_path / DB_FILENAME
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE preregistrations (registration_id TEXT)")
    conn.commit()
    conn.close()

    with pytest.raises(StoreError, match="no runs table"):
        SQLiteRunStore(db, read_only=True)


# -- the commands, on a full disk ---------------------------------------------------------


def test_after_a_run_failed_on_a_full_disk_the_read_commands_say_no_runs(tmp_path, monkeypatch, capsys):
    _write_experiment(tmp_path)
    _fail_set_up(monkeypatch)

    assert main(["run", "tiny"]) == 2
    assert "disk is full" in capsys.readouterr().err
    assert not (tmp_path / "data" / DB_FILENAME).exists()

    assert main(["runs", "tiny"]) == 0
    assert "No runs of 'tiny' yet" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["runs", "tiny"], ["runs", "tiny", "--root", "data"]])
def test_runs_reads_an_empty_store_file_on_a_full_disk_as_no_runs(tmp_path, monkeypatch, capsys, args):
    _write_experiment(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DB_FILENAME).write_bytes(b"")  # left by an earlier version
    _fail_set_up(monkeypatch)

    assert main(args) == 0
    captured = capsys.readouterr()
    assert "No runs of 'tiny' yet (looked in data)" in captured.out
    assert "Error" not in captured.err


def test_show_on_an_empty_store_file_says_no_runs_as_without_a_store(tmp_path, monkeypatch, capsys):
    _write_experiment(tmp_path)
    assert main(["show", "tiny"]) == 2
    without_store = capsys.readouterr().err

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DB_FILENAME).write_bytes(b"")
    _fail_set_up(monkeypatch)
    assert main(["show", "tiny"]) == 2
    assert capsys.readouterr().err == without_store
    assert "no runs of 'tiny' yet" in without_store
