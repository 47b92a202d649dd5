"""``crystallize show`` and ``diff``: the producer runs a consumer run read (``summary["upstream"]``)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

PREP_V0 = {"experiment": "prep", "output": "features", "run_id": "2a4dbba8ba31", "version": 0}
PREP_V1 = {"experiment": "prep", "output": "features", "run_id": "9f00c0ffee12", "version": 1}
TRAIN = {"experiment": "train", "output": "model", "run_id": "77aa00bb11cc", "version": None}


def _run_id(cli) -> str:
    proc = cli("run", "numbers", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def _store_upstream(tmp_path: Path, run_id: str, entries: list[dict]) -> None:
    """Add ``summary["upstream"]`` to a stored run, as a consumer run records it."""
    with sqlite3.connect(tmp_path / "data" / "crystallize.db") as db:
        (text,) = db.execute("SELECT summary FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        summary = {**json.loads(text), "upstream": entries}
        db.execute("UPDATE runs SET summary = ? WHERE run_id = ?", (json.dumps(summary), run_id))


def test_show_prints_each_upstream_run(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    run = _run_id(cli)
    _store_upstream(tmp_path, run, [PREP_V0, TRAIN])
    proc = cli("show", "numbers", "--no-chart")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "Upstream: prep#features from run 2a4dbba8ba31 (v0)" in lines
    assert "Upstream: train#model from run 77aa00bb11cc" in lines  # no version recorded


def test_show_names_reads_no_stored_run_wrote(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    run = _run_id(cli)
    unstored = {"experiment": "prep", "output": "features", "run_id": None, "version": 2}
    empty = {"experiment": "train", "output": "model", "run_id": None, "version": None}
    _store_upstream(tmp_path, run, [unstored, empty])
    lines = cli("show", "numbers", "--no-chart").stdout.splitlines()
    assert "Upstream: prep#features from v2 (written by no stored run)" in lines
    assert "Upstream: train#model from nothing (it had no artifacts)" in lines


def test_show_without_recorded_upstream_prints_none(cli, make_experiment):
    make_experiment("numbers")
    _run_id(cli)
    proc = cli("show", "numbers", "--no-chart")
    assert proc.returncode == 0, proc.stderr
    assert "Upstream" not in proc.stdout


def test_diff_lists_upstream_runs_that_differ(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    a, b = _run_id(cli), _run_id(cli)
    _store_upstream(tmp_path, a, [PREP_V0, TRAIN])
    _store_upstream(tmp_path, b, [PREP_V1, TRAIN])
    text = cli("diff", a, b).stdout
    assert "identical" not in text
    assert "upstream.prep#features: run 2a4dbba8ba31 (v0) → run 9f00c0ffee12 (v1)" in text
    assert "train#model" not in text  # read from the same run in both
    data = json.loads(cli("diff", a, b, "--json").stdout)
    assert {"key": "upstream.prep#features", "a": "run 2a4dbba8ba31 (v0)", "b": "run 9f00c0ffee12 (v1)"} in data["settings"]


def test_diff_with_the_same_upstream_runs_stays_identical(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    a, b = _run_id(cli), _run_id(cli)
    _store_upstream(tmp_path, a, [PREP_V0])
    _store_upstream(tmp_path, b, [PREP_V0])
    text = cli("diff", a, b).stdout
    assert "Config: identical" in text
    assert "upstream" not in text


def test_diff_against_a_run_without_recorded_upstream_says_nothing_of_it(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    a, b = _run_id(cli), _run_id(cli)
    _store_upstream(tmp_path, b, [PREP_V1])  # a was stored before upstream runs were recorded
    proc = cli("diff", a, b)
    assert proc.returncode == 0, proc.stderr
    assert "upstream" not in proc.stdout
