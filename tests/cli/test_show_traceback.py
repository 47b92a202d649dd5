"""``crystallize show --tracebacks`` (or ``--debug``): the stored tracebacks of failed replicates."""

from __future__ import annotations

import json

TRACEBACK = "Traceback (most recent call last):"


def _failed_run(cli, make_experiment) -> str:
    make_experiment("numbers")
    proc = cli("run", "numbers", "--json", "--set", "fail_on=0")
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def test_show_hints_at_tracebacks_and_prints_them_on_request(cli, make_experiment):
    run_id = _failed_run(cli, make_experiment)
    plain = cli("show", "numbers", "--no-chart")
    assert plain.returncode == 0, plain.stderr
    assert "[baseline #0] step 'total': ValueError: replicate chosen to fail" in plain.stdout
    assert TRACEBACK not in plain.stdout
    assert f"See their tracebacks with: crystallize show numbers --run {run_id} --tracebacks" in plain.stdout

    for args in (("show", "numbers", "--no-chart", "--tracebacks"), ("--debug", "show", "numbers", "--no-chart")):
        proc = cli(*args)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        # The three conditions failed the same way: one traceback, naming all three.
        assert out.count(TRACEBACK) == 1, out
        assert "[baseline #0], [shifted #0], [doubled #0] failed in step 'total':\n" + TRACEBACK in out
        after = out[out.index(TRACEBACK):]
        assert 'raise ValueError("replicate chosen to fail")' in after
        assert "ValueError: replicate chosen to fail" in after
        assert "--tracebacks" not in out


def test_tracebacks_of_a_run_without_failures_says_so(cli, make_experiment):
    make_experiment("numbers")
    assert cli("run", "numbers").returncode == 0
    proc = cli("show", "numbers", "--no-chart", "--tracebacks")
    assert proc.returncode == 0, proc.stderr
    assert "No replicate failed in this run: there is no traceback to show." in proc.stdout
    assert TRACEBACK not in proc.stdout
