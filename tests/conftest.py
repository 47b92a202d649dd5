"""Shared fixtures: every test runs in its own empty working directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Run each test in a fresh directory so ``data/`` stores never leak between tests."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
