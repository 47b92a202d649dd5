"""A data directory given as a symbolic link that leads nowhere is named as such: the
link reads as nothing there (``exists()`` follows it), while creating the directory
finds it in the way ("File exists")."""

from __future__ import annotations

import os

import pytest

from crystallize.exceptions import StoreError
from crystallize.store import open_store


def test_a_link_to_a_missing_directory_is_named_with_its_target(tmp_path):
    link = tmp_path / "data"
    os.symlink(tmp_path / "gone", link)
    for root in (link, link / "sub"):
        with pytest.raises(StoreError) as info:
            open_store(root)
        message = str(info.value)
        assert f"{str(link)!r} is a symbolic link to {str(tmp_path / 'gone')!r}, which does not exist" in message
        assert "create that directory, or remove the link" in message
        assert "File exists" not in message


def test_a_link_loop_is_named(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(StoreError) as info:
        open_store(tmp_path / "a")
    assert f"{str(tmp_path / 'a')!r} is a symbolic link loop" in str(info.value)


def test_a_link_to_a_directory_is_used(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "data")
    open_store(tmp_path / "data").close()
    assert (tmp_path / "real" / "crystallize.db").exists()
