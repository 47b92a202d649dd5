"""``crystallize report -o PATH --force`` never replaces stored runs: not the run store
(``crystallize.db``, its ``-wal``/``-shm``/``-journal`` files, a link to it), not any
other SQLite database, not what a run store keeps in its data directory. ``--force``
still replaces an ordinary file that is not a report."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from cli_assertions import assert_one_line_user_error

SQLITE_HEADER = b"SQLite format 3\x00"
HINT = "choose another path with -o/--output"


@pytest.fixture
def stored(cli, make_experiment) -> str:
    """A folder experiment ``alpha`` with one run stored in ``data/crystallize.db``; its id."""
    make_experiment("alpha")
    proc = cli("run", "alpha", "--json")
    assert proc.returncode == 0, proc.stderr
    assert Path("data/crystallize.db").read_bytes().startswith(SQLITE_HEADER)
    return json.loads(proc.stdout)["run_id"]


def assert_runs_listed(cli, run_id: str) -> None:
    proc = cli("runs", "alpha")
    assert proc.returncode == 0, proc.stderr
    assert run_id in proc.stdout


def test_force_never_overwrites_the_run_store(cli, stored):
    before = Path("data/crystallize.db").read_bytes()
    proc = cli("report", "alpha", "-o", "data/crystallize.db", "--force")
    assert_one_line_user_error(proc, "data/crystallize.db", "run store", "--force", HINT)
    assert "Wrote" not in proc.stdout
    assert Path("data/crystallize.db").read_bytes() == before
    assert_runs_listed(cli, stored)
    # the run store is also refused by name (any case) and without --force
    assert_one_line_user_error(cli("report", "alpha", "-o", "data/crystallize.db"), "run store", HINT)
    assert_one_line_user_error(cli("report", "alpha", "-o", "data/../data/./CRYSTALLIZE.db", "-f"), "run store")
    assert_runs_listed(cli, stored)


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_force_never_overwrites_the_files_of_the_run_store(cli, stored, suffix):
    companion = Path(f"data/crystallize.db{suffix}")
    companion.write_bytes(b"")  # whether SQLite left it there or not: its name is the store's
    proc = cli("report", "alpha", "-o", str(companion), "-f")
    assert_one_line_user_error(proc, str(companion), "run store data/crystallize.db", HINT)
    assert companion.read_bytes() == b""
    companion.unlink()
    proc = cli("report", "alpha", "-o", str(companion), "-f")  # nor created where the store is
    assert_one_line_user_error(proc, str(companion), "run store", HINT)
    assert not companion.exists()
    assert_runs_listed(cli, stored)


def test_force_never_overwrites_a_live_write_ahead_log(cli, stored):
    """The -wal of a store kept open (as during a run) holds commits not yet in the file."""
    connection = sqlite3.connect("data/crystallize.db")
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS scratch (a)")
        connection.execute("INSERT INTO scratch VALUES (1)")
        connection.commit()
        wal = Path("data/crystallize.db-wal")
        before = wal.read_bytes()
        assert before[:4] in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
        proc = cli("report", "alpha", "-o", str(wal), "--force")
        assert_one_line_user_error(proc, "data/crystallize.db-wal", "run store", HINT)
        assert wal.read_bytes() == before
    finally:
        connection.close()
    assert_runs_listed(cli, stored)


def test_force_never_overwrites_another_sqlite_database(cli, stored):
    other = Path("results.sqlite")
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE t (a)")
    connection.execute("INSERT INTO t VALUES (42)")
    connection.commit()
    connection.close()
    before = other.read_bytes()
    assert before.startswith(SQLITE_HEADER)
    proc = cli("report", "alpha", "-o", str(other), "-f")
    assert_one_line_user_error(proc, "results.sqlite", "SQLite database", HINT)
    assert other.read_bytes() == before
    # a copy of the store under another name is a database too, whatever its name
    Path("backup.html").write_bytes(Path("data/crystallize.db").read_bytes())
    assert_one_line_user_error(cli("report", "alpha", "-o", "backup.html", "-f"), "backup.html", "SQLite database")
    assert Path("backup.html").read_bytes().startswith(SQLITE_HEADER)
    # and so is the journal beside another database
    journal = Path("results.sqlite-journal")
    journal.write_bytes(b"")
    proc = cli("report", "alpha", "-o", str(journal), "-f")
    assert_one_line_user_error(proc, "results.sqlite-journal", "SQLite database results.sqlite")
    assert journal.read_bytes() == b""


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_force_never_overwrites_the_run_store_through_a_link(cli, stored):
    link = Path("store-link.db")
    try:
        link.symlink_to(Path("data/crystallize.db").resolve())
    except OSError:
        pytest.skip("symbolic links are not allowed here")
    before = Path("data/crystallize.db").read_bytes()
    proc = cli("report", "alpha", "-o", str(link), "-f")
    assert_one_line_user_error(proc, "store-link.db", "leads to data/crystallize.db", "run store", HINT)
    assert link.is_symlink() and Path("data/crystallize.db").read_bytes() == before
    assert_runs_listed(cli, stored)


def test_force_never_overwrites_what_the_run_store_keeps(cli, stored):
    artifact = Path("data/alpha/v0/baseline/0/model.txt")
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text("weights", encoding="utf-8")
    proc = cli("report", "alpha", "-o", str(artifact), "-f")
    assert_one_line_user_error(proc, str(artifact), "artifact of experiment 'alpha'", "run store in data", HINT)
    assert artifact.read_text(encoding="utf-8") == "weights"
    cached = next(path for path in Path("data/.cache").rglob("*") if path.is_file())
    before = cached.read_bytes()
    proc = cli("report", "alpha", "-o", str(cached), "-f")
    assert_one_line_user_error(proc, "step cache", "run store in data", HINT)
    assert cached.read_bytes() == before


def test_force_still_overwrites_an_ordinary_file(cli, stored):
    notes = Path("notes.txt")
    notes.write_text("not a report", encoding="utf-8")
    assert_one_line_user_error(cli("report", "alpha", "-o", "notes.txt"), "notes.txt already exists", "--force")
    proc = cli("report", "alpha", "-o", "notes.txt", "-f")
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote the report of run {stored} of 'alpha' to notes.txt" in proc.stdout
    assert notes.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # a new report beside the store, and an earlier one there, are fine too
    for _ in range(2):
        proc = cli("report", "alpha", "-o", "data/report.html")
        assert proc.returncode == 0, proc.stderr
    assert_runs_listed(cli, stored)


def test_the_write_itself_refuses_a_run_store(stored, tmp_path):
    """Whatever a caller checked before, writing a report never replaces a database."""
    from crystallize.cli.errors import UserError
    from crystallize.cli.paths import write_report_file

    before = Path("data/crystallize.db").read_bytes()
    with pytest.raises(UserError, match="run store"):
        write_report_file(Path("data/crystallize.db"), "<!DOCTYPE html>")
    with pytest.raises(UserError, match="SQLite database"):
        Path("copy.bin").write_bytes(before)
        write_report_file(Path("copy.bin"), "<!DOCTYPE html>")
    assert Path("data/crystallize.db").read_bytes() == before
    write_report_file(tmp_path / "fine.html", "<!DOCTYPE html>")
    assert (tmp_path / "fine.html").read_text(encoding="utf-8") == "<!DOCTYPE html>"
