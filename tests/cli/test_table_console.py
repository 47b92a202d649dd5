"""What the commands print on stdout: its width, and what goes to stderr instead.

Tables fit ``COLUMNS`` when it is set, else the terminal when stdout is one, else 80: a
file or pipe never takes the width of the terminal the command was started from (rich
reads that from stdin or stderr).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from cli_support import crystallize_command

from crystallize.store import open_store


def in_terminal(args: list[str], cwd, columns: int, *, to_file=None) -> str:
    """Run ``crystallize ARGS`` with a terminal ``columns`` wide as stdin, stdout and
    stderr (stdout to ``to_file`` instead, when given) and no ``COLUMNS``; return what
    the terminal showed."""
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(NO_COLOR="1", CRYSTALLIZE_DEBUG="")
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    stdout = open(to_file, "w") if to_file is not None else side  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            [*crystallize_command(), *args], cwd=cwd, env=env, stdin=side, stdout=stdout, stderr=side
        )
    finally:
        os.close(side)
        if to_file is not None:
            stdout.close()
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal's other side closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    proc.wait(timeout=60)
    os.close(main)
    return re.sub(r"\x1b\[[0-9;]*m", "", shown.decode().replace("\r\n", "\n"))  # no styles


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_file_gets_80_columns_not_the_terminals_width(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    make_experiment("wide_treatments_here")
    at_80 = cli("list", env={"COLUMNS": "80"}).stdout
    in_terminal(["list"], tmp_path, 30, to_file=tmp_path / "list.txt")
    assert (tmp_path / "list.txt").read_text() == at_80
    in_terminal(["list"], tmp_path, 200, to_file=tmp_path / "list.txt")
    assert (tmp_path / "list.txt").read_text() == at_80


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_gets_its_own_width(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    shown = in_terminal(["list"], tmp_path, 44)
    assert shown == cli("list", env={"COLUMNS": "44"}).stdout
    assert "shifted,\n" in shown  # 44 columns wrap the treatments


def test_list_notes_load_failures_on_stderr(cli, make_experiment, make_broken):
    make_experiment("numbers")
    make_broken()
    proc = cli("list")
    assert proc.returncode == 0, proc.stderr
    assert "numbers" in proc.stdout and "failed to load" not in proc.stdout
    assert proc.stderr == "1 folder(s) failed to load; see why with: crystallize list --errors\n"


def test_list_lines_end_without_spaces(cli, make_experiment):
    make_experiment("numbers")
    make_experiment("a_much_longer_name")
    for columns in ("160", "30"):
        lines = cli("list", env={"COLUMNS": columns}).stdout.splitlines()
        assert len(lines) >= 3
        assert [line.rstrip() for line in lines] == lines


def test_delete_says_invalid_answers_on_stderr(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    with open_store(tmp_path / "data") as store:
        for _ in range(2):
            run = store.create_run(
                experiment="numbers", fingerprint="f", spec={}, replicates=1, conditions=["baseline"], base_seed=1,
                artifact_version=0,
            )
            store.finish_run(run.run_id, "completed")
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    proc = subprocess.run(
        [*crystallize_command(), "delete", "numbers", "--keep", "1"], cwd=tmp_path, env=env,
        input="maybe\nn\n", capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "invalid" not in proc.stdout and "Nothing deleted." in proc.stdout
    assert "Delete 1 run(s) of 'numbers'? [y/N]: " in proc.stdout
    assert proc.stderr == "Error: 'maybe' is not an answer; type y (yes) or n (no).\n"
