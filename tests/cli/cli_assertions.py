"""Assertions shared by the CLI tests."""

from __future__ import annotations

import subprocess


def assert_one_line_user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """``proc`` exited 2 with one ``Error: ...`` line holding every fragment, no traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith("Error: ") and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
