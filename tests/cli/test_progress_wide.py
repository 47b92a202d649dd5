"""The live progress of a wide run (hundreds of conditions) fits the terminal and costs
about what a few conditions cost; a run whose conditions fit keeps one bar per condition."""

from __future__ import annotations

import io

from rich.console import Console

from crystallize.cli.progress import RunProgress
from crystallize.record import ReplicateError, ReplicateRecord


def _record(condition: str, replicate: int, error: bool = False) -> ReplicateRecord:
    failure = ReplicateError(condition, replicate, "step", "boom", "ValueError") if error else None
    return ReplicateRecord(condition, replicate, 0, {"m": [1.0]}, [], error=failure)


def _run(conditions: list[str], replicates: int, height: int, failing: str = "") -> str:
    """Track a whole run on a terminal of ``height`` lines; the display's last frame."""
    out = io.StringIO()
    console = Console(file=out, width=120, height=height, force_terminal=True, color_system=None)
    with RunProgress(console, live=True).track("exp", conditions, replicates) as tracker:
        for condition in conditions:
            for replicate in range(replicates):
                tracker.advance(_record(condition, replicate, error=condition == failing))
    text = out.getvalue()
    last = text[text.rindex("\x1b[2K") + len("\x1b[2K"):]  # the last redraw
    return last.removesuffix("\x1b[?25h").rstrip("\n")


def test_a_wide_run_shows_an_overall_bar_and_the_latest_conditions_within_the_terminal():
    conditions = ["baseline", *(f"t{i}" for i in range(200))]
    lines = _run(conditions, 2, height=12, failing="t3").splitlines()
    assert len(lines) <= 12
    assert lines[0].startswith("exp · all 201 conditions")
    assert "402/402" in lines[0] and "2 err" in lines[0]
    assert [line.split()[2] for line in lines[1:]] == [f"t{i}" for i in range(190, 200)]
    assert all("2/2" in line and "0 err" in line for line in lines[1:])


def test_a_run_that_fits_keeps_one_bar_per_condition():
    lines = _run(["baseline", "a", "b"], 2, height=12, failing="a").splitlines()
    assert [line.split()[:3] for line in lines] == [["exp", "·", "baseline"], ["exp", "·", "a"], ["exp", "·", "b"]]
    assert all("2/2" in line for line in lines)
    assert "2 err" in lines[1] and "0 err" in lines[2]


def test_a_wide_run_on_a_terminal_draws_a_bounded_number_of_bars_at_every_step(monkeypatch):
    """Each redraw draws every visible bar: with one bar per condition, 300 conditions
    took ~25 s to draw here. The number of bars shown stays within the terminal at every
    step of the run, however many conditions there are."""
    from rich.progress import Progress

    most = []
    update = Progress.update

    def counting_update(self, task_id, **fields):
        update(self, task_id, **fields)
        most.append(sum(task.visible for task in self.tasks))

    monkeypatch.setattr(Progress, "update", counting_update)
    _run(["baseline", *(f"t{i}" for i in range(300))], 3, height=40)
    assert most and max(most) <= 40  # the terminal's height
