"""The run screen's edge cases: a bad editor variable, reloading a fixed config, resumed
runs, the summary after a cancel, a broken upstream config, and how to quit."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from test_tui_app import (  # noqa: F401  (fake_editor: a fixture the tests ask for)
    SIZE,
    _leaves,
    fake_editor,
    highlight,
    labels,
    log_of,
    notifications,
    open_run_screen,
    sync,
    tap,
    text_of,
    wait_for,
)

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.run import RunScreen
from crystallize.store import list_runs


def slow_experiment(make_experiment, name: str = "slow", replicates: int = 20) -> Path:
    """An experiment whose replicates take 30 ms each (3 conditions)."""
    folder = make_experiment(name, replicates=replicates)
    config = folder / "config.yaml"
    config.write_text(config.read_text() + "initial_ctx: {pause: 0.03}\n")
    return folder


async def run_and_cancel(pilot, screen: RunScreen, after: int = 3) -> None:
    """Start a run, cancel it after ``after`` replicates, wait until it stopped."""
    await tap(pilot, "R")
    await wait_for(pilot, lambda: screen.done >= after)
    await tap(pilot, "R")
    await wait_for(pilot, lambda: screen.controller is None, timeout=20)
    await pilot.pause()


async def run_to_the_end(pilot, screen: RunScreen) -> None:
    """Start a run and wait until it finished."""
    await pilot.press("R")
    await pilot.pause()
    await wait_for(pilot, lambda: screen.controller is None, timeout=60)
    await pilot.pause()


@sync
async def test_a_badly_quoted_editor_variable_is_a_notice_not_a_crash(make_experiment, monkeypatch):
    make_experiment("numbers")
    for variable in ("CRYSTALLIZE_EDITOR", "VISUAL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("EDITOR", 'code "--wait')
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.press("e")
        await pilot.pause()
        assert app.screen is screen, "the TUI is still running"
        message = notifications(app)[-1]
        assert "$EDITOR" in message and 'code "--wait' in message
        assert "No closing quotation" in message


@sync
async def test_r_after_a_load_error_only_reloads(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    good = config.read_text()
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        config.write_text(good.replace("steps:", "stepz:"))
        await pilot.press("R")
        await pilot.pause()
        assert screen.load_error is not None
        config.write_text(good)
        await pilot.press("R")  # "fix it, then press R to reload"
        await pilot.pause(0.3)
        assert screen.controller is None and screen.load_error is None
        assert text_of(screen.query_one("#run-status")).startswith("ready")
        assert not (Path("data") / "crystallize.db").exists() or not list_runs("data", "numbers")
        await run_to_the_end(pilot, screen)  # the next R runs
        assert text_of(screen.query_one("#run-status")).startswith("done")
    assert [r.status for r in list_runs("data", "numbers")] == ["completed"]


@sync
async def test_a_load_error_clears_the_previous_counts(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await run_to_the_end(pilot, screen)
        assert "baseline 3/3" in text_of(screen.query_one("#run-counts"))
        config.write_text(config.read_text().replace("steps:", "stepz:"))
        await pilot.press("R")
        await pilot.pause()
        assert text_of(screen.query_one("#run-counts")).strip() == ""


@sync
async def test_a_resumed_run_counts_the_resumed_replicates(make_experiment):
    slow_experiment(make_experiment)  # add_delta caches: the strategy is resume
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await run_and_cancel(pilot, screen)
        full = "baseline 20/20 · shifted 20/20 · doubled 20/20 · 0 error(s)"
        for _ in range(2):  # resumes the cancelled run; then every replicate is stored already
            await run_to_the_end(pilot, screen)
            assert text_of(screen.query_one("#run-status")).startswith("done")
            assert text_of(screen.query_one("#run-counts")).strip() == full
            bar = screen.query_one("#run-progress")
            assert (bar.progress, bar.total, bar.percentage) == (60, 60, 1.0)
    runs = list_runs("data", "slow")
    assert runs[0].status == "completed" and runs[0].n_records == 60


@sync
async def test_resumed_replicates_count_as_soon_as_the_run_starts(make_experiment):
    slow_experiment(make_experiment, replicates=40)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await run_and_cancel(pilot, screen, after=6)
        kept = list_runs("data", "slow")[0].n_records
        assert kept >= 6
        await pilot.press("R")  # resumes: the kept replicates count before any new one
        await wait_for(pilot, lambda: "resumed from the store" in log_of(screen))
        assert f"slow: {kept} replicate(s) resumed from the store" in log_of(screen)
        assert screen.done >= kept
        assert sum(count.done for count in screen.trackers["slow"].counts.values()) >= kept
        await wait_for(pilot, lambda: screen.controller is None, timeout=60)
        await pilot.pause()
        bar = screen.query_one("#run-progress")
        assert (bar.progress, bar.total) == (120, 120)  # not counted twice at the end


@sync
async def test_after_a_cancel_the_summary_shows_the_kept_run_and_its_status(make_experiment):
    slow_experiment(make_experiment)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await highlight(pilot, screen, "step", "add_delta")
        await pilot.press("l")  # caching off: strategy rerun, every run gets a new id
        await run_to_the_end(pilot, screen)
        (old,) = list_runs("data", "slow")
        await run_and_cancel(pilot, screen)
        kept = next(r for r in list_runs("data", "slow") if r.run_id != old.run_id)
        assert kept.status == "cancelled"
        summary = text_of(screen.query_one("#summary-body"))
        assert f"Run {kept.run_id} of slow" in summary and old.run_id not in summary
        assert "cancelled · started" in summary and f"{kept.n_records} record(s)" in summary
        await pilot.press("escape")
        await pilot.pause()
        screen = await open_run_screen(pilot, "slow")
        summary = text_of(screen.query_one("#summary-body"))
        assert "Last stored run of slow" in summary
        assert "cancelled · started" in summary and f"{kept.n_records} record(s)" in summary


@sync
async def test_a_broken_upstream_config_is_the_file_named_and_opened(make_graph, fake_editor):  # noqa: F811
    train, _ = make_graph()
    config = train / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#catalog-tree")
        tree.move_cursor(next(n for n in _leaves(tree) if n.data.kind == "graph"))
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        config.write_text(config.read_text().replace("steps: [fit]", "steps: [fitt]"))
        await pilot.press("R")
        await pilot.pause()
        status = text_of(screen.query_one("#run-status"))
        assert "experiments/train/config.yaml" in status
        assert any("experiments/train/config.yaml" in line for line in labels(screen.query_one("#plan-tree")))
        await pilot.press("l")
        await pilot.pause()
        assert "experiments/train/config.yaml" in notifications(app)[-1]
        await pilot.press("e")
        await wait_for(pilot, fake_editor.exists, timeout=10)
        assert Path(fake_editor.read_text()).resolve() == config.resolve()
        assert "fitt" in log_of(screen)


@sync
async def test_the_run_screen_footer_shows_how_to_quit(make_experiment):
    make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        shown = {b.binding.key: b.binding for b in screen.active_bindings.values() if b.binding.show}
        assert "ctrl+q" in shown and shown["ctrl+q"].description == "Quit"


@sync
async def test_ctrl_q_during_a_run_quits_and_keeps_the_run_as_cancelled(make_experiment):
    slow_experiment(make_experiment)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.done >= 3)
        await tap(pilot, "ctrl+q")
    deadline = time.monotonic() + 10  # the replicates in flight finish in the run's thread
    while list_runs("data", "slow")[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    (run,) = list_runs("data", "slow")
    assert run.status == "cancelled" and 3 <= run.n_records < 60


@sync
async def test_ctrl_q_cancels_the_run_even_when_the_screen_never_unmounts(make_experiment, monkeypatch):
    """Quitting cancels the run itself: it must not depend on the run screen's unmount
    (which a busy shutdown may reach only after the run ended, storing it as completed)."""
    slow_experiment(make_experiment)

    def unmount_without_cancelling(screen: RunScreen) -> None:
        logging.getLogger("crystallize").removeHandler(screen.handler)

    monkeypatch.setattr(RunScreen, "on_unmount", unmount_without_cancelling)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.done >= 3)
        controller = screen.controller
        await tap(pilot, "ctrl+q")
        assert controller is not None and controller.cancelled
    deadline = time.monotonic() + 10
    while list_runs("data", "slow")[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    (run,) = list_runs("data", "slow")
    assert run.status == "cancelled" and 3 <= run.n_records < 60
