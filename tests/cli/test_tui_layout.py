"""The run screen in a small terminal (80x24), the hint after a load error, the summary after
a fixed config, and the counts of a graph run."""

from __future__ import annotations

from test_tui_app import _leaves, highlight, log_of, open_run_screen, sync, text_of, wait_for
from textual.geometry import Region
from textual.widgets import Footer

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.run import RunScreen
from crystallize.cli.tui.widgets.log import REWRAP_DELAY
from crystallize.store import list_runs

SMALL = (80, 24)


def shown(widget) -> list[str]:
    """The lines a widget renders at its current size (what the terminal gets, before
    scrolling crops it)."""
    width, height = widget.region.size  # with the padding (``size`` is the content's)
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, width, height))]


def visible_log(screen: RunScreen) -> str:
    """The text of the log's visible rows (cropped at the pane's edge), wrapped lines joined."""
    log = screen.query_one("#run-log")
    rows = [log.render_line(y).text for y in range(log.scrollable_content_region.height)]
    return " ".join(" ".join(rows).split())


async def run_to_the_end(pilot, screen: RunScreen, replicates: int = 9) -> None:
    await pilot.press("R")
    await wait_for(pilot, lambda: screen.controller is None and screen.done == replicates)
    await pilot.pause()


def assert_the_log_fits(screen: RunScreen, command: str) -> None:
    """No log line is wider than the pane (nor wrapped narrower); ``command`` shows whole."""
    log = screen.query_one("#run-log")
    width = log.scrollable_content_region.width
    assert width < 50
    assert max(line.cell_length for line in log.lines) == width, "the log wraps at the pane's width"
    assert command in visible_log(screen)
    assert command in log_of(screen)


@sync
async def test_the_log_wraps_at_the_width_of_a_narrow_pane(make_experiment):
    folder = make_experiment("typo", hypothesis=True)
    config = folder / "config.yaml"
    good = config.read_text()
    config.write_text(good.replace("metrics: total", "metrics: totl"))
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "typo")
        await highlight(pilot, screen, "step", "add_delta")
        await pilot.press("l")  # caching off: strategy rerun, every run gets a new id
        await run_to_the_end(pilot, screen)
        await pilot.pause(0.1)  # the log scrolls to its end
        (run,) = list_runs("data", "typo")
        assert screen.query_one("#run-tabs").active == "log-tab"
        assert_the_log_fits(screen, f"crystallize show typo --run {run.run_id}")

        # written while the summary tab hides the log (its size is then 0)
        config.write_text(good)
        await run_to_the_end(pilot, screen)
        assert screen.query_one("#run-tabs").active == "summary-tab"
        before = {r.run_id for r in list_runs("data", "typo")}
        config.write_text(good.replace("metrics: total", "metrics: totl"))
        await run_to_the_end(pilot, screen)
        await pilot.press("L")
        await pilot.pause(0.1)
        (new,) = [r for r in list_runs("data", "typo") if r.run_id not in before]
        assert_the_log_fits(screen, f"crystallize show typo --run {new.run_id}")


@sync
async def test_status_and_counts_wrap_instead_of_losing_their_ends(make_experiment):
    make_experiment("a_rather_long_experiment_name")
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "a_rather_long_experiment_name")
        await run_to_the_end(pilot, screen)
        pane = screen.query_one("#run-main").region
        status, counts = screen.query_one("#run-status"), screen.query_one("#run-counts")
        assert pane.contains_region(status.region) and pane.contains_region(counts.region), "nothing cut off"
        status_text = " ".join(" ".join(shown(status)).split())
        assert status_text.startswith("done") and status_text.endswith("· 0 error(s)")
        counts_text = " ".join(" ".join(shown(counts)).split())
        assert counts_text == "baseline 3/3 · shifted 3/3 · doubled 3/3 · 0 error(s)"
        # the taller lines push the tabs down: they still end above the footer
        footer = screen.query_one(Footer).region
        assert screen.query_one("#run-tabs").region.bottom <= footer.y
        assert screen.query_one("#run-log").region.bottom <= footer.y


@sync
async def test_the_summary_keeps_a_table_row_on_one_line(make_experiment):
    make_experiment("numbers", hypothesis=True)
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await run_to_the_end(pilot, screen)
        assert screen.query_one("#run-tabs").active == "summary-tab"
        lines = shown(screen.query_one("#summary-body"))
        header = [line for line in lines if line.lstrip().startswith("treatment")]
        assert header, lines
        assert all(word in header[0] for word in ("metric", "difference", "effect size", "verdict"))
        assert any(line.lstrip().startswith("doubled") and "significant" in line for line in lines)
        # the pane scrolls sideways to the rest of the row
        scroll = screen.query_one("#summary-scroll")
        assert scroll.virtual_size.width > scroll.size.width


@sync
async def test_a_config_fixed_after_opening_broken_shows_the_last_stored_run(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    good = config.read_text()
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await run_to_the_end(pilot, screen)
        (run,) = list_runs("data", "numbers")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunScreen))
        config.write_text(good.replace("steps:", "stepz:"))
        screen = await open_run_screen(pilot, "numbers")
        assert screen.load_error is not None
        config.write_text(good)
        await pilot.press("R")  # reloads only
        summary = screen.query_one("#summary-body")
        await wait_for(pilot, lambda: "Last stored run of numbers" in text_of(summary), timeout=10)
        assert run.run_id in text_of(summary)
        assert screen.controller is None


@sync
async def test_the_first_log_line_after_a_load_error_says_r_reloads(make_experiment):
    folder = make_experiment("numbers")
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        config.write_text(config.read_text().replace("steps:", "stepz:"))
        screen = await open_run_screen(pilot, "numbers")
        await pilot.pause()
        log = log_of(screen)
        assert "Fix experiments/numbers/config.yaml (e opens it), then press R to reload." in log
        assert "Press R to run" not in log
    app = CrystallizeApp(".")
    config.write_text(config.read_text().replace("stepz:", "steps:"))
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.pause()
        assert "Press R to run numbers." in log_of(screen)


@sync
async def test_the_counts_of_a_graph_run_name_the_experiment(make_graph):
    make_graph()
    app = CrystallizeApp(".")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#catalog-tree")
        tree.move_cursor(next(n for n in _leaves(tree) if n.data.kind == "graph"))
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        await run_to_the_end(pilot, screen, replicates=4)
        assert text_of(screen.query_one("#run-counts")).strip() == "evaluate: baseline 2/2 · 0 error(s)"


@sync
async def test_old_log_lines_wrap_again_when_the_terminal_is_resized(make_experiment):
    make_experiment("resized")
    app = CrystallizeApp(".")
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_run_screen(pilot, "resized")
        await highlight(pilot, screen, "step", "add_delta")
        await pilot.press("l")  # caching off: every run gets a new id
        await run_to_the_end(pilot, screen)
        await pilot.press("L")  # a finished run shows its summary
        await pilot.pause(0.1)
        (run,) = list_runs("data", "resized")
        command = f"Done (resized: {run.run_id}); 0 replicate(s) failed. Press S for the summary."
        log = screen.query_one("#run-log")
        narrow = log.scrollable_content_region.width
        assert command in visible_log(screen)

        await pilot.resize_terminal(140, 30)
        await pilot.pause(REWRAP_DELAY + 0.2)
        wide = log.scrollable_content_region.width
        assert wide > narrow + 40
        assert max(line.cell_length for line in log.lines) <= wide
        assert any(command in line.text for line in log.lines), "an old line is one row again"
        assert command in visible_log(screen) and command in log_of(screen)

        await pilot.resize_terminal(*SMALL)
        await pilot.pause(REWRAP_DELAY + 0.2)
        assert_the_log_fits(screen, command)

        # a clear (a new run) forgets the old lines: they do not come back on a resize
        await run_to_the_end(pilot, screen)
        await pilot.resize_terminal(100, 24)
        await pilot.pause(REWRAP_DELAY + 0.2)
        assert command not in log_of(screen)
