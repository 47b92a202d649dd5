"""``crystallize diff``: keys present in one run only, code changes named by their step,
and the two conditions of ``--treatments --json`` as separate fields."""

from __future__ import annotations

import json

from crystallize.cli.diff import spec_changes

SPEC = {"steps": [{"name": "add_delta", "code": "aaaa"}, {"name": "total", "code": "8866"}], "initial_ctx": {}}


def _run_id(cli, *args: str) -> str:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def test_a_key_in_one_run_only_shows_as_absent(cli, make_experiment):
    make_experiment("numbers")
    a = _run_id(cli)
    b = _run_id(cli, "--set", "foo=1")
    text = cli("diff", a, b).stdout
    assert "initial_ctx.foo: (absent) → 1" in text
    back = cli("diff", b, a).stdout
    assert "initial_ctx.foo: 1 → (absent)" in back
    data = json.loads(cli("diff", a, b, "--json").stdout)
    (row,) = [r for r in data["config"] if r["path"] == "initial_ctx.foo"]
    assert row == {"path": "initial_ctx.foo", "b": 1}  # no "a": absent, not null


def test_a_real_null_is_still_null(cli, make_experiment):
    make_experiment("numbers")
    a = _run_id(cli, "--set", "foo=null")
    b = _run_id(cli, "--set", "foo=1")
    assert "initial_ctx.foo: null → 1" in cli("diff", a, b).stdout


def test_a_code_change_names_its_step():
    changed = {**SPEC, "steps": [SPEC["steps"][0], {"name": "total", "code": "3ce4"}]}
    assert spec_changes(SPEC, changed) == [("steps[1:total].code", "8866", "3ce4")]


def test_treatments_json_gives_the_two_conditions_separately(cli, make_experiment):
    make_experiment("numbers")
    run = _run_id(cli)
    data = json.loads(cli("diff", run, "--treatments", "baseline", "doubled", "--json").stdout)
    (row,) = data["metrics"]
    assert row["condition_a"] == "baseline" and row["condition_b"] == "doubled"
    assert "condition" not in row
    assert "baseline → doubled" in cli("diff", run, "--treatments", "baseline", "doubled").stdout  # the table keeps it


def test_runs_executed_differently_say_so(cli, make_experiment):
    make_experiment("numbers")
    serial = _run_id(cli)
    threads = _run_id(cli, "--executor", "thread", "--workers", "2")
    text = cli("diff", serial, threads).stdout
    assert "identical" not in text
    assert "execution: SerialExecution → ParallelExecution(thread, max_workers=2)" in text
    data = json.loads(cli("diff", serial, threads, "--json").stdout)
    (row,) = [r for r in data["settings"] if r["key"] == "execution"]
    assert (row["a"], row["b"]) == ("SerialExecution", "ParallelExecution(thread, max_workers=2)")
