"""Which progress a terminal gets: plain lines on a dumb terminal (rich does not animate
one: a live bar would show nothing until the run ends), and on a narrow one bars whose
counts stay readable."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from crystallize.cli.progress import RunProgress, draws_live
from crystallize.record import ReplicateRecord


class _TerminalFile(io.StringIO):
    """A file that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("term", ["dumb", "unknown"])
def test_a_dumb_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch, term: str):
    monkeypatch.setenv("TERM", term)
    out = _TerminalFile()
    console = Console(file=out, width=80)
    assert not draws_live(console)
    with RunProgress(console).track("exp", ["baseline"], 1) as tracker:
        tracker.advance(ReplicateRecord("baseline", 0, 0, {"m": [1.0]}, []))
    assert out.getvalue().splitlines() == [
        "exp: running 1 condition(s) × 1 replicate(s)",
        "exp · baseline: 1/1 done, 0 error(s)",
    ]


def test_a_real_terminal_still_gets_the_live_bar(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    assert draws_live(Console(file=_TerminalFile(), width=80))


def _last_frame(width: int, conditions: list[str], replicates: int, name: str = "experiment") -> list[str]:
    """The live display's last frame on a terminal ``width`` columns wide."""
    out = io.StringIO()
    console = Console(file=out, width=width, height=30, force_terminal=True, color_system=None)
    with RunProgress(console, live=True).track(name, conditions, replicates) as tracker:
        for condition in conditions:
            for replicate in range(replicates - 1):  # one short: the bars are unfinished
                tracker.advance(ReplicateRecord(condition, replicate, 0, {"m": [1.0]}, []))
    text = re.sub(r"\x1b\[\?25[hl]", "", out.getvalue())
    frame = text[text.rindex("\x1b[2K") + len("\x1b[2K"):]
    return [line for line in frame.splitlines() if line.strip()]


def test_a_narrow_terminal_shows_every_count_and_shortens_the_names():
    conditions = ["baseline", "a_rather_long_treatment_name", "another_long_treatment_name"]
    lines = _last_frame(40, conditions, 100)
    assert len(lines) == 3
    for line in lines:
        assert len(line) <= 40
        assert "99/100" in line and "0 err" in line
        assert "…" in line and "ETA" not in line  # no room for the times: they go first
    # The condition, which tells the bars apart, is shortened after the experiment's name.
    assert "baseline" in lines[0]
    assert "a_rather" in lines[1] and "another" in lines[2]


def test_a_wide_terminal_shows_whole_names_and_the_times():
    lines = _last_frame(120, ["baseline", "a_rather_long_treatment_name"], 100)
    assert "experiment · a_rather_long_treatment_name" in lines[1]
    assert all("99/100" in line and "ETA" in line for line in lines)
