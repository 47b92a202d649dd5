"""Plain progress (output not a terminal) prints its status line on a timer too: a run
whose records come rarely (one replicate of many long conditions) still shows it is
going. The timer's thread is paused while worker processes are forked, like the
store's threads."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

import crystallize.cli.progress as progress_module
from crystallize.cli.progress import RunProgress

#: Upper bound on waiting for a status line (it comes after PLAIN_INTERVAL).
WAIT = 10.0


class _Lines(io.StringIO):
    """An output that signals each line written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Condition()

    def write(self, text: str) -> int:
        with self.written:
            count = super().write(text)
            self.written.notify_all()
        return count

    def wait_for(self, part: str) -> bool:
        with self.written:
            return self.written.wait_for(lambda: part in self.getvalue(), WAIT)


def _timer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == progress_module.TIMER_THREAD and t.is_alive()]


@pytest.fixture
def short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL", 0.05)


def test_the_status_line_comes_without_records(short_interval: None):
    out = _Lines()
    with RunProgress(Console(file=out, width=120)).track("exp", ["baseline", "t"], 2):
        assert out.wait_for("exp: 0/4 replicates done, 0 error(s)")
    assert not _timer_threads()  # the timer ends with the run


def test_the_timer_is_paused_while_processes_are_forked(short_interval: None):
    from crystallize.store.checkpoint import threads_paused

    out = _Lines()
    with RunProgress(Console(file=out, width=120)).track("exp", ["baseline"], 1):
        assert len(_timer_threads()) == 1
        with threads_paused():
            assert not _timer_threads()
        assert len(_timer_threads()) == 1
        out.truncate(0)
        out.seek(0)
        assert out.wait_for("exp: 0/1 replicates done")
    assert not _timer_threads()


def test_no_timer_for_a_live_display_or_quiet_progress(short_interval: None):
    live = RunProgress(Console(file=io.StringIO(), width=120, force_terminal=True), live=True)
    with live.track("exp", ["baseline"], 1):
        assert not _timer_threads()
    with RunProgress(Console(file=io.StringIO()), quiet=True).track("exp", ["baseline"], 1):
        assert not _timer_threads()
