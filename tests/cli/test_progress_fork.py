"""A process forked while the live progress bar draws never inherits the display's lock
held: its first ``print`` (or log line) would otherwise block forever.

Rich's live display redraws from a thread of its own about ten times a second, holding
its lock, and swaps ``sys.stdout``/``sys.stderr`` for proxies that draw through it.
A worker process forked at that moment (``--executor process`` under the ``fork`` start
method) found the lock held by a thread it does not have.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from crystallize.cli.progress import RunProgress
from crystallize.record import ReplicateRecord

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="fork is POSIX-only")

#: Seconds a forked child gets to print and exit; it takes milliseconds unless it hangs.
CHILD_TIMEOUT = 15.0


def _child() -> None:
    """In the forked process: print and log, as a step does."""
    import logging

    print("printed by the child")
    log = logging.getLogger("test_progress_fork")
    log.propagate = False  # not to pytest's capture: to stderr, as the command's logging does
    log.addHandler(logging.StreamHandler())  # sys.stderr, the display's proxy
    log.warning("logged by the child")


def _console(path: Path) -> Console:
    """A terminal-like console writing to ``path`` (a file the forked child writes too)."""
    return Console(
        file=path.open("w", encoding="utf-8"), width=100, force_terminal=True, force_interactive=True,
        color_system=None,
    )


def test_a_process_forked_while_the_display_draws_prints_without_hanging(tmp_path: Path):
    path = tmp_path / "terminal.txt"
    console = _console(path)
    context = multiprocessing.get_context("fork")
    with RunProgress(console, live=True).track("exp", ["baseline"], 2) as tracker:
        live = tracker.progress.live  # type: ignore[attr-defined]
        assert type(sys.stdout).__name__ == "FileProxy"  # the display draws what is printed
        held, forked = threading.Event(), threading.Event()

        def hold() -> None:
            # What rich's refresh thread does while it draws. Released once the fork is
            # done, or (when the fork waits for the lock) after a second.
            with live._lock:
                held.set()
                forked.wait(1.0)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
        child = context.Process(target=_child)
        child.start()
        forked.set()
        holder.join()
        child.join(CHILD_TIMEOUT)
        code = child.exitcode
        if code is None:  # hung: do not leave it behind
            child.kill()
            child.join()
    console.file.close()
    assert code == 0, "the forked process hung on its first print"
    # What the child printed and logged went through its copy of the display, to the terminal.
    shown = path.read_text(encoding="utf-8")
    assert "printed by the child" in shown
    assert "logged by the child" in shown


def test_the_display_goes_on_after_a_fork(tmp_path: Path):
    path = tmp_path / "terminal.txt"
    console = _console(path)
    context = multiprocessing.get_context("fork")
    with RunProgress(console, live=True).track("exp", ["baseline"], 2) as tracker:
        child = context.Process(target=_child)
        child.start()
        child.join(CHILD_TIMEOUT)
        assert child.exitcode == 0
        print("printed by the parent")  # the parent's locks were given back after the fork
        for replicate in range(2):
            tracker.advance(ReplicateRecord("baseline", replicate, 0, {"m": [1.0]}, []))
    console.file.close()
    shown = path.read_text(encoding="utf-8")
    assert "printed by the parent" in shown and "2/2" in shown
    assert type(sys.stdout).__name__ != "FileProxy"  # the display gave the streams back
