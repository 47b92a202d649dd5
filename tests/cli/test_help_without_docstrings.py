"""The command help does not come from docstrings: ``python -OO`` (which strips them)
shows the same help, descriptions and exit codes included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["list", "run", "show", "runs", "report", "diff", "delete", "compact", "new"]


def raw_help(tmp_path: Path, *args: str, optimize: bool) -> str:
    """``crystallize ARGS --help`` run by ``python [-OO]``."""
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    environment.pop("PYTHONOPTIMIZE", None)
    flags = ["-OO"] if optimize else []
    proc = subprocess.run(
        [sys.executable, *flags, "-m", "crystallize.cli", *args, "--help"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def help_text(tmp_path: Path, *args: str, optimize: bool) -> str:
    """:func:`raw_help` without the panel borders, its whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", raw_help(tmp_path, *args, optimize=optimize)).split())


def test_run_help_keeps_the_exit_codes_under_OO(tmp_path: Path) -> None:
    text = help_text(tmp_path, "run", optimize=True)
    assert "Run an experiment or graph with a live progress bar, then print its report." in text
    assert "Exit code 0 when every replicate succeeded; 1 when some failed" in text
    assert "130 when interrupted with Ctrl+C (143 with SIGTERM, 129 with SIGHUP)." in text


def test_top_level_help_describes_every_command_under_OO(tmp_path: Path) -> None:
    text = raw_help(tmp_path, optimize=True)
    listed = dict(re.findall(r"^│ (\w+) +(\S.*?) *│$", text, re.M))
    assert sorted(listed) == sorted(COMMANDS), text
    assert listed["run"] == "Run an experiment or graph with a live progress bar, then print its report."
    assert all(len(description) > 20 for description in listed.values()), listed


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_under_OO_is_the_normal_help(tmp_path: Path, command: str | None) -> None:
    args = [command] if command else []
    assert help_text(tmp_path, *args, optimize=True) == help_text(tmp_path, *args, optimize=False)
