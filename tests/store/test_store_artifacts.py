"""Artifact paths, name validation, atomic writes and versions."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from crystallize.store import artifacts
from crystallize.store.artifacts import (
    artifact_path,
    atomic_write_bytes,
    claim_version,
    latest_version,
    next_version,
    reset_version_dir,
    validate_artifact_name,
)


def test_artifact_path_layout(tmp_path):
    path = artifact_path(tmp_path, "exp", 3, "baseline", 7, "plots/loss.png")
    assert path == tmp_path / "exp" / "v3" / "baseline" / "7" / "plots" / "loss.png"
    assert artifact_path(str(tmp_path), "exp", 0, "lr=0.1", 0, "m.pkl") == Path(
        tmp_path, "exp/v0/lr=0.1/0/m.pkl"
    )


@pytest.mark.parametrize(
    "name", ["model.pkl", "plots/loss.png", "a/b/c.txt", ".hidden", "x..y", "with space.txt"]
)
def test_valid_names(name):
    assert validate_artifact_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("/etc/passwd", "absolute"),
        ("../secret", r"'\.\.' component"),
        ("a/../../b", r"'\.\.' component"),
        ("a/./b", r"'\.' component"),
        ("a\\b.txt", "backslash"),
        ("C:/x.txt", "drive letter"),
        ("c:x.txt", "drive letter"),
        ("a//b", "empty path component"),
        ("dir/", "empty path component"),
        ("a\x00b", r"control character \\x00"),
        ("a\nb", r"control character \\n"),
        (None, "must be a string"),
    ],
)
def test_invalid_names_say_why(name, why):
    with pytest.raises(ValueError, match=why):
        validate_artifact_name(name)


def test_bad_path_parts_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="condition.*contains '/'"):
        artifact_path(tmp_path, "exp", 0, "a/b", 0, "x")
    with pytest.raises(ValueError, match="experiment"):
        artifact_path(tmp_path, "..", 0, "c", 0, "x")
    with pytest.raises(ValueError, match="replicate must be >= 0"):
        artifact_path(tmp_path, "exp", 0, "c", -1, "x")
    with pytest.raises(ValueError, match="version must be an int"):
        artifact_path(tmp_path, "exp", "1", "c", 0, "x")
    with pytest.raises(ValueError, match=r"'\.\.' component"):
        artifact_path(tmp_path, "exp", 0, "c", 0, "../../escape")


def test_atomic_write_bytes(tmp_path):
    target = tmp_path / "deep" / "dir" / "f.bin"
    assert atomic_write_bytes(target, b"one") == target
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, b"two", fsync=True)
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["f.bin"]


def test_failed_atomic_write_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(src, dst):
        raise OSError("no space")

    monkeypatch.setattr(artifacts.os, "replace", boom)
    with pytest.raises(OSError, match="no space"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_versions(tmp_path):
    assert latest_version(tmp_path, "exp") is None
    assert next_version(tmp_path, "exp", versioned=True) == 0
    for name in ("v0", "v1", "v3", "v01", "vx", "v-1", "other"):
        (tmp_path / "exp" / name).mkdir(parents=True)
    (tmp_path / "exp" / "v9").write_text("a file, not a version")
    assert latest_version(tmp_path, "exp") == 3
    assert next_version(tmp_path, "exp", versioned=True) == 4
    assert next_version(tmp_path, "exp", versioned=False) == 0
    assert latest_version(tmp_path, "other-exp") is None


def test_reset_version_dir_replaces_only_that_version(tmp_path):
    v0 = tmp_path / "exp" / "v0"
    (v0 / "c" / "0").mkdir(parents=True)
    (v0 / "c" / "0" / "old.txt").write_text("old")
    (tmp_path / "exp" / "v1").mkdir()
    (tmp_path / "exp" / "v1" / "keep.txt").write_text("keep")
    (tmp_path / "exp" / ".v0.trash-deadbeef" / "x").mkdir(parents=True)  # an earlier crash
    assert reset_version_dir(tmp_path, "exp", 0) == v0
    assert v0.is_dir() and list(v0.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["v0", "v1"]
    assert (tmp_path / "exp" / "v1" / "keep.txt").read_text() == "keep"
    assert reset_version_dir(tmp_path, "new-exp", 0).is_dir()


def test_claim_version(tmp_path):
    assert [claim_version(tmp_path, "exp", True) for _ in range(3)] == [0, 1, 2]
    (tmp_path / "exp" / "v3").write_text("stray file")
    assert claim_version(tmp_path, "exp", True) == 4
    (tmp_path / "exp" / "v0" / "a.txt").write_text("x")
    assert claim_version(tmp_path, "exp", False) == 0
    assert list((tmp_path / "exp" / "v0").iterdir()) == []


def test_concurrent_claims_get_distinct_versions(tmp_path):
    got: list[int] = []
    lock = threading.Lock()

    def claim():
        v = claim_version(tmp_path, "exp", True)
        with lock:
            got.append(v)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(8))
