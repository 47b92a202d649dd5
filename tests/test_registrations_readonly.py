"""Listing pre-registrations is a history read: it never creates, upgrades or needs to
write the store, and a wrong folder is an error naming where it looked."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from crystallize.confirm import explore, registrations
from crystallize.exceptions import StoreError
from crystallize.store import DB_FILENAME


def trial(config, ctx):
    ctx.record("score", config.get("skill", 0) + random.gauss(0, 1))


def _version_1_store(root):
    """A store as Crystallize wrote it before pre-registrations existed (schema 1)."""
    from crystallize.store.sqlite_schema import SCHEMA

    root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(root / DB_FILENAME)
    for statement in SCHEMA[:-1]:  # everything but the pre-registrations table
        conn.execute(statement.replace(",\n        artifact_version INTEGER", ""))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def _schema_version(root):
    conn = sqlite3.connect(f"{(root / DB_FILENAME).as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def read_only_file(monkeypatch):
    """Behave like a file that cannot be written (``chattr +i``, a read-only file): every
    connection opens it read-only, so upgrading or switching its journal fails."""
    real_connect = sqlite3.connect

    def connect(target, *args, uri=False, **kwargs):
        if not uri:
            target, uri = f"{Path(target).absolute().as_uri()}?mode=ro", True
        return real_connect(target, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)


@pytest.fixture
def read_only_mount(monkeypatch):
    """Behave like a read-only mount: only ``immutable=1`` opens the database."""
    from crystallize.store.shared import close_shared_stores

    close_shared_stores()
    real_connect = sqlite3.connect

    def connect(target, *args, uri=False, **kwargs):
        if not (uri and "immutable=1" in str(target)):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(target, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_a_read_only_store_written_before_registrations_existed_has_none(tmp_path, request):
    _version_1_store(tmp_path / "data")
    request.getfixturevalue("read_only_file")
    assert registrations(tmp_path / "data") == []
    assert _schema_version(tmp_path / "data") == 1  # not upgraded


def test_the_registrations_of_a_store_on_a_read_only_mount_are_listed(request):
    exploration = explore(trial, {"a": {}, "b": {"skill": 1}}, replicates=2)
    confirmation = exploration.crystallize("b.score > a.score", replicates=3)
    request.getfixturevalue("read_only_mount")
    listed = registrations("data", exploration_run=exploration.run_id)
    assert [r.registration_id for r in listed] == [confirmation.registration.registration_id]
    assert listed[0].hypothesis == "b.score > a.score"


def test_a_misspelt_folder_is_an_error_and_nothing_is_created(tmp_path):
    explore(trial, {"a": {}, "b": {}}, replicates=2)  # the real store is in ./data
    with pytest.raises(StoreError, match=r"No run store in 'dta' \(the directory does not exist\)"):
        registrations("dta")
    assert not (tmp_path / "dta").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match=r"'empty' \(it holds no crystallize\.db\).*ArtifactPlugin root_dir"):
        registrations("empty")
    assert list((tmp_path / "empty").iterdir()) == []
