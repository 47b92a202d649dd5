"""Ctrl+C after ``crystallize run`` finished, while its process exits: ignored.

Once the report's last line (``Run <id> · ... stored in data``) is out, the process still
runs for a few tenths of a second: the exit handlers, then the interpreter's shutdown,
which frees every module the command loaded. Python puts back the default action of a
signal handled by a Python function at that point, so a Ctrl+C then used to kill the
process (exit 130, nothing printed) although the run was complete and stored. The
command's exit code must stand (see ``docs/cli.md``, "Ctrl-C and SIGTERM").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crystallize.store import list_runs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")

CONFIG = """\
name: tiny
replicates: 2
datasource: numbers
steps:
  - count
"""

DATASOURCES = """\
from crystallize import data_source


@data_source
def numbers(ctx):
    return 1
"""

STEPS = """\
from crystallize import pipeline_step


@pipeline_step()
def count(data, ctx):
    return data, {"x": float(ctx["replicate"])}
"""

FINAL_LINE = "stored in data"


def _crystallize() -> list[str]:
    """The installed ``crystallize`` script of this venv, else ``python -m crystallize.cli``."""
    script = shutil.which("crystallize", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "crystallize.cli"]


def _write_experiment(root: Path) -> None:
    folder = root / "experiments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (folder / "datasources.py").write_text(DATASOURCES, encoding="utf-8")
    (folder / "steps.py").write_text(textwrap.dedent(STEPS), encoding="utf-8")


def _ctrl_c(pgid: int) -> bool:
    """Ctrl+C at a terminal (SIGINT to the whole process group); False when it is gone."""
    try:
        os.killpg(pgid, signal.SIGINT)
    except (ProcessLookupError, PermissionError):  # already exited (a zombie group: EPERM on some systems)
        return False
    return True


def test_ctrl_c_while_a_finished_run_exits_keeps_its_exit_code(tmp_path):
    _write_experiment(tmp_path)
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    # Block-buffered stdout, as with any file or pipe: the final line shows only when the
    # command flushes its output at the end, after the command's work is done.
    env.pop("PYTHONUNBUFFERED", None)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(
            [*_crystallize(), "run", "tiny"], cwd=tmp_path, env=env, stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while FINAL_LINE not in out_path.read_text(encoding="utf-8"):
            if proc.poll() is not None:
                break  # exited at once: nothing left to interrupt (still checked below)
            assert time.monotonic() < deadline, err_path.read_text(encoding="utf-8")
            time.sleep(0.005)
        time.sleep(0.05)
        # Ctrl+C repeatedly until the process is gone: one of them lands in the
        # interpreter's shutdown, whenever it starts on this machine.
        while proc.poll() is None and _ctrl_c(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    stderr = err_path.read_text(encoding="utf-8")
    assert code == 0, f"exit code {code}; stderr: {stderr}"
    assert FINAL_LINE in out_path.read_text(encoding="utf-8")
    assert "Interrupted" not in stderr and "Traceback" not in stderr and "Exception ignored" not in stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["completed"]
