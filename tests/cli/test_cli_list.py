"""``crystallize list``: experiments, graphs, groups and load failures."""

from __future__ import annotations

import json


def test_list_shows_experiments_graphs_and_a_failure_count(cli, make_experiment, make_graph, make_broken):
    make_experiment("numbers", replicates=4)
    make_graph()
    make_broken()
    proc = cli("list")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for text in ("numbers", "train", "evaluate", "graph", "train → evaluate", "shifted, doubled", "Demo", "Graph"):
        assert text in out
    assert "1 folder(s) failed to load; see why with: crystallize list --errors" in proc.stderr  # not in the listing
    assert "totl" not in out and "Traceback" not in out


def test_list_errors_explains_with_a_traceback(cli, make_experiment, make_broken):
    make_experiment("numbers")
    make_broken()
    out = cli("list", "--errors").stdout
    assert "experiments/broken/config.yaml" in out
    assert "no step named 'totl'" in out
    assert "Traceback (most recent call last)" in out


def test_list_json_and_order(cli, make_experiment):
    make_experiment("late", priority=5)
    make_experiment("early", priority=1)
    data = json.loads(cli("list", "--json").stdout)
    assert [e["name"] for e in data["experiments"]] == ["early", "late"]
    assert data["experiments"][0]["treatments"] == ["shifted", "doubled"]
    assert data["errors"] == {}


def test_list_without_experiments(cli):
    proc = cli("list")
    assert proc.returncode == 0
    assert "crystallize new NAME" in proc.stdout


def test_disabled_treatments_are_listed(cli, make_experiment):
    folder = make_experiment("numbers")
    (folder / "config.state.json").write_text('{"disabled_treatments": ["doubled"]}')
    data = json.loads(cli("list", "--json").stdout)
    assert data["experiments"][0]["treatments"] == ["shifted"]
    assert data["experiments"][0]["disabled_treatments"] == ["doubled"]


def test_list_with_every_folder_failing_does_not_say_there_are_none(cli, make_broken):
    make_broken()
    proc = cli("list")
    assert "No experiment under experiments loaded." in proc.stdout
    assert "create one with" not in proc.stdout
    assert "1 folder(s) failed to load" in proc.stderr


def test_list_with_no_folders_suggests_creating_one(cli):
    assert "create one with: crystallize new NAME" in cli("list").stdout
