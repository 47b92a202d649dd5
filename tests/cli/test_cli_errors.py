"""Every user error: one line on stderr, exit code 2, no traceback; --debug shows it."""

from __future__ import annotations

import pytest

CASES = {
    "unknown experiment": (("run", "numbrs"), "no experiment named 'numbrs'. Did you mean 'numbers'?"),
    "broken config": (("run", "broken"), "experiment 'broken' could not be loaded"),
    "set without =": (("run", "numbers", "--set", "delta"), "--set expects key=value"),
    "set bad replicates": (("run", "numbers", "--set", "replicates=many"), "replicates must be a whole number"),
    "set huge replicates": (("run", "numbers", "--set", "replicates=99999999999999999999999"), "replicates must be at most 100,000,000"),
    "huge -n": (("run", "numbers", "-n", "9223372036854775807"), "--replicates: replicates must be at most 100,000,000"),
    "set unknown treatment": (("run", "numbers", "--set", "treatments.tripled.delta=1"), "unknown treatment 'tripled'"),
    "set unknown plugin key": (("run", "numbers", "--set", "plugins.seed.sead=1"), "unknown plugin setting"),
    "set bad yaml": (("run", "numbers", "--set", "delta=[1,"), "cannot parse the value"),
    "unknown treatment": (("run", "numbers", "-t", "tripled"), "has no treatment 'tripled'"),
    "unknown run id": (("show", "numbers", "--run", "ffffffff"), "no run with id 'ffffffff'"),
    "empty run id": (("show", "numbers", "--run", ""), "the run id is empty"),
    "unknown run id in diff": (("diff", "ffffffff", "eeeeeeee"), "no run with id 'ffffffff'"),
    "no runs yet": (("show", "numbers"), "no runs of 'numbers' yet (looked in data). Run it with: crystallize run numbers"),
    "not found here": (("runs", "elsewhere_study"), "no experiment of that name is found here. If it lives elsewhere, pass its folder"),
    "missing path": (("run", "experiments/nothing/config.yaml"), "no such file"),
    "set address not text": (("run", "numbers", "--set", "plugins.execution.address=6379"), "address must be text"),
    "address without ray": (("run", "numbers", "--executor", "thread", "--address", "x:1"), "--address is for the Ray executor"),
}


@pytest.fixture
def project(make_experiment, make_broken):
    make_experiment("numbers")
    make_broken("broken")


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_errors_are_one_line_and_exit_2(cli, project, case):
    args, message = CASES[case]
    proc = cli(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("Error: ")
    assert message in proc.stderr
    if case != "broken config":  # the config error itself lists its problems
        assert proc.stderr.strip().count("\n") == 0, proc.stderr


def test_debug_shows_the_traceback(cli, project):
    proc = cli("run", "numbers", "--set", "delta", "--debug")
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert "Error: --set expects key=value" in proc.stderr
    broken = cli("--debug", "run", "broken")
    assert "Traceback" in broken.stderr and "ConfigValidationError" in broken.stderr


def test_usage_errors_exit_2(cli, project):
    proc = cli("run", "numbers", "--strategy", "sometimes")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
