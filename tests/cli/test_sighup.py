"""SIGHUP (the terminal or SSH session closed) stops a command the way SIGTERM does."""

from __future__ import annotations

import signal
import sys
import time

import pytest
from test_cli_signals import Command, _run_once, command, write_experiment  # noqa: F401 (fixture)

from crystallize.store import list_runs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def test_sighup_stops_a_run_that_can_be_resumed(tmp_path, command):  # noqa: F811
    write_experiment(tmp_path, "slow", replicates=40, pause=0.1)
    run: Command = command("run", "slow", "-n", "40")
    run.wait_for("running")
    time.sleep(0.5)
    run.proc.send_signal(signal.SIGHUP)

    assert run.wait() == 129, run.stderr
    assert "Interrupted: the replicates of 'slow' that finished are kept" in run.stderr
    assert "Finish it with: crystallize run slow --strategy resume -n 40" in run.stderr
    assert "Traceback" not in run.stderr
    [stopped] = list_runs(tmp_path / "data")
    assert stopped.status == "cancelled"

    resumed = command("run", "slow", "--strategy", "resume", "-n", "40")
    assert resumed.wait(timeout=60) == 0, resumed.stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["completed"]


def test_the_sighup_handler_is_restored_after_an_in_process_call(tmp_path):
    before = signal.getsignal(signal.SIGHUP)
    _run_once(tmp_path)
    assert signal.getsignal(signal.SIGHUP) == before
