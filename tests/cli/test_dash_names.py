"""Commands printed for an experiment whose name starts with '-' work when pasted: the
options come first and '--' before the name (``crystallize runs -- -slow``)."""

from __future__ import annotations

import json
import shlex
import sys

import pytest
from typer.testing import CliRunner

from crystallize.cli.app import build_app
from crystallize.cli.history import ExperimentArg, history_command, never_ran
from crystallize.cli.run import resume_hint
from crystallize.cli.shell import command_line, dash_safe

CONFIG = """
name: "-slow"
replicates: 2
datasource: numbers
steps: [add_delta, total]
treatments:
  "-fast": {delta: 3.0}
plugins:
  seed: {seed: 5}
"""


@pytest.fixture
def posix(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")


def invoke(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


def paste(hint: str):
    """Run ``hint`` (a printed ``crystallize ...`` line) as the user pasting it would."""
    words = shlex.split(hint)
    assert words[0] == "crystallize"
    return invoke(*words[1:])


@pytest.fixture
def stored_run(make_experiment) -> str:
    """Run '-slow' once; return the run id."""
    make_experiment("slow", config=CONFIG)
    assert invoke("run", "--json", "--", "-slow").exit_code == 0
    runs = invoke("runs", "--json", "--", "-slow")
    assert runs.exit_code == 0, runs.output
    return json.loads(runs.stdout)[0]["run_id"]


def test_dash_safe_moves_a_leading_dash_argument_after_the_options():
    words = ["crystallize", "run", "-slow", "--strategy", "resume", "-n", "3", "-t", "-fast", "--no-cache"]
    assert dash_safe(words) == ["crystallize", "run", "--strategy", "resume", "-n", "3", "-t", "-fast", "--no-cache", "--", "-slow"]
    assert dash_safe(["crystallize", "runs", "-slow", "--root", "-data"]) == ["crystallize", "runs", "--root", "-data", "--", "-slow"]
    for unchanged in (
        ["crystallize", "run", "slow", "--strategy", "resume"],  # no argument starts with '-'
        ["crystallize", "compact", "--root", "data"],  # options only
        ["crystallize", "runs", "--", "-slow"],  # already safe
        ["ls", "-l"],  # not a crystallize command
    ):
        assert dash_safe(unchanged) == unchanged


def test_printed_hints_for_a_dash_name_run_when_pasted(posix, stored_run):
    hints = [
        resume_hint("-slow", [("-n", 2), ("-t", "-fast"), ("--json", True)]),
        history_command("runs", "-slow"),
        history_command("runs", "-slow", root="data"),
        history_command("show", "-slow", "--run", stored_run, "--tracebacks"),
        never_ran(ExperimentArg("-slow", "-slow"), "data").rpartition("Run it with: ")[2],
        command_line(["crystallize", "report", "-slow", "--run", stored_run, "-o", "out.html"]),
    ]
    assert hints[0] == "crystallize run --strategy resume -n 2 -t -fast --json -- -slow"
    assert hints[1] == "crystallize runs -- -slow"
    for hint in hints:
        result = paste(hint)
        assert result.exit_code == 0, f"{hint}\n{result.output}"


def test_a_hint_in_an_error_message_runs_when_pasted(posix, stored_run):
    result = invoke("show", "--run", "nosuchrun", "--", "-slow")
    assert result.exit_code != 0
    hint = result.output.rpartition("List the runs with: ")[2].strip().rstrip(".")
    assert hint == "crystallize runs -- -slow"
    assert paste(hint).exit_code == 0
