"""A process forked while the interface captures file descriptors 1 and 2 (a worker of
process execution) writes its ``print()`` and warnings there, where the run log reads
them, not to textual's stand-ins for ``sys.stdout`` and ``sys.stderr``."""

from __future__ import annotations

import os
import sys
import time

import pytest


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_the_capture_writes_its_output_to_the_captured_descriptors(monkeypatch):
    """textual replaces sys.stdout and sys.stderr with objects sending what is written to
    the interface, which a forked worker does not have: its print() and warnings went
    nowhere."""
    from crystallize.cli.tui.output import CapturedOutput

    class Interface:  # what textual puts in sys.stdout / sys.stderr
        def write(self, text):
            return len(text)

        def flush(self):
            pass

    output = CapturedOutput()
    lines: list[str] = []
    output.show_in(lines.append)
    with output.capture() as captured:
        assert captured
        monkeypatch.setattr(sys, "stdout", Interface())
        monkeypatch.setattr(sys, "stderr", Interface())
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                print("printed by the worker")
                print("written to stderr by the worker", file=sys.stderr)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        deadline = time.monotonic() + 10
        while len(lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.undo()
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(lines) == ["printed by the worker", "written to stderr by the worker"]
