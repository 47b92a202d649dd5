"""``crystallize new``: scaffolds that run as created."""

from __future__ import annotations

import json


def test_new_skeleton_runs(cli, tmp_path):
    proc = cli("new", "first")
    assert proc.returncode == 0, proc.stderr
    assert "Created experiments/first/" in proc.stdout
    assert {p.name for p in (tmp_path / "experiments" / "first").iterdir()} == {
        "config.yaml", "datasources.py", "steps.py"
    }
    data = json.loads(cli("run", "first", "--json").stdout)
    assert len(data["metrics"]["baseline"]["total"]) == 3
    assert data["errors"] == []


def test_new_example_is_a_real_study(cli):
    assert cli("new", "study", "--example").returncode == 0
    proc = cli("run", "study")
    assert proc.returncode == 0, proc.stderr
    assert "Hypothesis 'smaller_error'" in proc.stdout
    assert "sample_200" in proc.stdout
    assert "Examples" in cli("list").stdout


def test_new_refuses_an_existing_folder_or_a_bad_name(cli):
    assert cli("new", "first").returncode == 0
    again = cli("new", "first")
    assert again.returncode == 2
    assert again.stderr.strip() == "Error: experiments/first already exists; choose another name or remove it."
    assert cli("new", "../escape").returncode == 2
