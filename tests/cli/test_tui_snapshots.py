"""Snapshots of every screen (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import pytest

from crystallize.cli.tui.app import CrystallizeApp

SIZE = (110, 32)


@pytest.fixture
def project(make_experiment, make_graph, make_broken):
    make_experiment("numbers", hypothesis=True)
    make_graph()
    make_broken()


def test_selection_screen(snap_compare, project):
    assert snap_compare(CrystallizeApp("."), terminal_size=SIZE)


def test_run_screen(snap_compare, project):
    assert snap_compare(CrystallizeApp("."), press=["enter"], terminal_size=SIZE)


def test_load_errors_screen(snap_compare, project):
    assert snap_compare(CrystallizeApp("."), press=["e"], terminal_size=SIZE)


def test_new_experiment_dialog(snap_compare, project):
    assert snap_compare(CrystallizeApp("."), press=["n", *"study"], terminal_size=SIZE)
