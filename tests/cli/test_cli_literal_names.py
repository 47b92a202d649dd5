"""User-supplied text (names, groups, messages, reports) is shown literally by the CLI
and the TUI: never read as rich/Textual markup, control characters escaped."""

from __future__ import annotations

import io
import json
import sqlite3

from rich.console import Console
from test_tui_app import (
    SIZE,
    highlight,
    log_of,
    notifications,
    open_run_screen,
    sync,
    text_of,
    wait_for,
)

from crystallize.cli.listing import listing_table
from crystallize.cli.progress import RunProgress
from crystallize.cli.targets import CatalogEntry
from crystallize.cli.text import literal, printable, printable_logging
from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.run import RunScreen
from crystallize.cli.tui.screens.selection import SelectionScreen
from crystallize.record import ReplicateRecord

MARKUP_CONFIG = """
name: arr[i]
replicates: 2
cli: {group: "Runs [/scratch]"}
datasource: numbers
steps: [add_delta, total]
treatments:
  "oops[/b]": {delta: 1.0}
  "[red]R[/red]x": {delta: 2.0}
plugins:
  seed: {seed: 5}
"""

FAILING_STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def total(data, ctx):
    if ctx["replicate"] == 1:
        raise FileNotFoundError("no shard at [/tmp/data/shard-1] \\x1b]0;TITLE\\x07 \\x1b[31mred")
    return data, {"total": sum(data)}
'''

FAILING_CONFIG = """
name: shards
replicates: 2
cli: {group: Data}
datasource: numbers
steps: [total]
plugins:
  seed: {seed: 1}
"""

#: The step's message as the CLI and TUI must show it.
SHOWN_MESSAGE = r"no shard at [/tmp/data/shard-1] \x1b]0;TITLE\x07 \x1b[31mred"
TREATMENTS = ("oops[/b]", "[red]R[/red]x")


def markup_experiment(make_experiment, group: str = "Runs [/scratch]"):
    return make_experiment("arr", config=MARKUP_CONFIG.replace("Runs [/scratch]", group))


def failing_experiment(make_experiment):
    return make_experiment("shards", config=FAILING_CONFIG, steps=FAILING_STEPS)


def assert_no_control_characters(text: str) -> None:
    assert printable(text) == text, [c for c in text if printable(c) != c]


# -- the helper --------------------------------------------------------------------------
def test_printable_escapes_control_characters_but_newline_and_tab():
    assert printable("a\x1b]0;T\x07b\rc\x7f\x9b\n\td") == "a\\x1b]0;T\\x07b\\rc\\x7f\\x9b\n\td"
    assert printable("[red]R[/red]x") == "[red]R[/red]x"


def test_literal_is_shown_as_is_by_rich():
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(literal("oops[/b] [red]R[/red]x \x1b[31m"))
    assert console.file.getvalue() == "oops[/b] [red]R[/red]x \\x1b[31m\n"


def test_log_messages_are_made_printable(caplog):
    import logging

    with printable_logging(), caplog.at_level(logging.ERROR, "crystallize"):
        logging.getLogger("crystallize").error("Replicate failed: %s", "x\x1b]0;T\x07")
        logging.getLogger("crystallize.store").error("child: %s", "\x1b")  # children too
        logging.getLogger("other").error("not ours: %s", "\x1b")
    logging.getLogger("crystallize").error("after: %s", "\x1b")
    assert [r.getMessage() for r in caplog.records] == [
        "Replicate failed: x\\x1b]0;T\\x07", "child: \\x1b", "not ours: \x1b", "after: \x1b"
    ]


# -- progress, list, diff, run, runs, show -----------------------------------------------
def _record(condition: str, replicate: int) -> ReplicateRecord:
    return ReplicateRecord(condition, replicate, 0, {"m": [1.0]}, [])


def test_plain_progress_shows_names_literally():
    out = io.StringIO()
    conditions = ["baseline", *TREATMENTS, "\x1b[31mred"]
    with RunProgress(Console(file=out, width=200)).track("arr[i]", conditions, 1) as tracker:
        for condition in conditions:
            tracker.advance(_record(condition, 0))
    assert out.getvalue().splitlines()[1:] == [
        "arr[i] · baseline: 1/1 done, 0 error(s)",
        "arr[i] · oops[/b]: 1/1 done, 0 error(s)",
        "arr[i] · [red]R[/red]x: 1/1 done, 0 error(s)",
        "arr[i] · \\x1b[31mred: 1/1 done, 0 error(s)",
    ]


def test_live_progress_shows_names_literally():
    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=200, force_terminal=True, color_system=None), live=True)
    with progress.track("arr[i]", ["baseline", *TREATMENTS, "\x1b[31mred"], 1) as tracker:
        tracker.advance(_record("oops[/b]", 0))
    text = out.getvalue()
    for shown in ("arr[i] · oops[/b]", "arr[i] · [red]R[/red]x", "arr[i] · \\x1b[31mred"):
        assert shown in text
    assert "\x1b[31mred" not in text


def test_live_events_show_names_literally():
    from crystallize.cli.events import EventEcho

    console = Console(file=io.StringIO(), width=200, color_system=None)
    EventEcho(console).on_event(None, {"condition": "[red]R[/red]x\x1b[2J", "replicate": 0}, "step\x07", {"k": 1})
    assert console.file.getvalue() == "[[red]R[/red]x\\x1b[2J #0] step\\x07 k=1\n"


def test_listing_table_shows_names_literally():
    class Experiment:
        replicates = 2
        treatments = ()
        declared_treatments = ()
        config_path = None

    entry = CatalogEntry("arr[i]\x1b[2J", "experiment", "Runs [/scratch]", 0, Experiment())
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(listing_table([entry]))
    assert "Runs [/scratch]  arr[i]\\x1b[2J  experiment" in console.file.getvalue()


def test_run_list_runs_and_diff_show_markup_like_names_literally(cli, make_experiment):
    markup_experiment(make_experiment)
    proc = cli("run", "arr[i]")
    assert proc.returncode == 0, proc.stderr
    assert "arr[i] · oops[/b]: 2/2 done, 0 error(s)" in proc.stdout
    assert "arr[i] · [red]R[/red]x: 2/2 done, 0 error(s)" in proc.stdout

    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    assert "Runs [/scratch]  arr[i]" in listing.stdout
    assert "oops[/b], [red]R[/red]x" in listing.stdout

    runs = cli("runs", "arr[i]")
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.startswith("Runs of 'arr[i]' in data:")

    run_id = json.loads(cli("runs", "arr[i]", "--json").stdout)[0]["run_id"]
    diff = cli("diff", run_id, "--treatments", "baseline", "[red]R[/red]x")
    assert diff.returncode == 0, diff.stderr
    assert "mean [red]R[/red]x" in diff.stdout
    assert "baseline → [red]R[/red]x  total" in diff.stdout


def test_error_messages_and_reports_escape_control_characters(cli, make_experiment):
    failing_experiment(make_experiment)
    proc = cli("run", "shards")
    assert proc.returncode == 1
    assert_no_control_characters(proc.stdout + proc.stderr)
    assert f"Replicate failed: [baseline #1] step 'total': FileNotFoundError: {SHOWN_MESSAGE}" in proc.stderr
    assert f"FileNotFoundError: {SHOWN_MESSAGE}" in proc.stdout  # the report
    shown = cli("show", "shards")
    assert shown.returncode == 0, shown.stderr
    assert_no_control_characters(shown.stdout)
    assert SHOWN_MESSAGE in shown.stdout


def test_a_user_error_naming_a_control_character_escapes_it(cli, make_experiment):
    failing_experiment(make_experiment)
    proc = cli("run", "shards\x1b]0;HACKED\x07")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: no experiment named 'shards\\x1b]0;HACKED\\x07'."), proc.stderr


def test_stored_names_with_control_characters_are_escaped(cli, make_experiment, tmp_path):
    """Runs stored before such names became invalid still carry them."""
    failing_experiment(make_experiment)
    cli("run", "shards")
    name = "x\x1b]0;HACKED\x07"
    with sqlite3.connect(tmp_path / "data" / "crystallize.db") as db:
        db.execute("UPDATE runs SET experiment = ?", (name,))
        db.execute("UPDATE runs SET conditions = ?", (json.dumps(["base\x1b[31m"]),))
        db.execute("UPDATE records SET condition = ?", ("base\x1b[31m",))
    runs = cli("runs", name, "--root", "data")
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.startswith("Runs of 'x\\x1b]0;HACKED\\x07' in data:")
    shown = cli("show", name, "--root", "data")
    assert shown.returncode == 0, shown.stderr
    assert_no_control_characters(shown.stdout)
    assert "base\\x1b[31m" in shown.stdout
    deleted = cli("delete", name, "--root", "data", "--keep", "0", "--yes", "--no-compact")
    assert deleted.returncode == 0, deleted.stderr
    assert_no_control_characters(deleted.stdout)
    assert "Deleted 1 run(s) of 'x\\x1b]0;HACKED\\x07'" in deleted.stdout


# -- the TUI -----------------------------------------------------------------------------
@sync
async def test_tui_selection_shows_a_markup_like_group_literally(make_experiment):
    markup_experiment(make_experiment)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SelectionScreen)
        tree = app.screen.query_one("#catalog-tree")
        assert [str(group.label) for group in tree.root.children] == ["Runs [/scratch]"]
        assert "oops[/b], [red]R[/red]x" in text_of(app.screen.query_one("#details"))


@sync
async def test_tui_run_screen_shows_names_literally(make_experiment):
    markup_experiment(make_experiment, group="Demo")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "arr[i]")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 6)
        await pilot.pause()
        counts = text_of(screen.query_one("#run-counts"))
        assert "baseline 2/2 · oops[/b] 2/2 · [red]R[/red]x 2/2 · 0 error(s)" in counts
        assert "✓ arr[i] · [red]R[/red]x #0" in log_of(screen)
        assert "Run: arr[i]" in text_of(screen.query_one(".pane-title"))
        await highlight(pilot, screen, "treatment", "oops[/b]")
        await pilot.press("x")
        await pilot.pause()
        assert "Treatment 'oops[/b]' disabled." in notifications(app)


@sync
async def test_tui_shows_a_failing_steps_message_literally_and_reopens(make_experiment):
    failing_experiment(make_experiment)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "shards")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 2)
        await pilot.pause()
        assert f"FileNotFoundError: {SHOWN_MESSAGE}" in log_of(screen)
        assert SHOWN_MESSAGE in text_of(screen.query_one("#summary-body"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SelectionScreen))
        await pilot.pause()
        again = await open_run_screen(pilot, "shards")  # the last run's summary is shown
        summary = text_of(again.query_one("#summary-body"))
        assert SHOWN_MESSAGE in summary
        assert_no_control_characters(summary)
        assert isinstance(app.screen, RunScreen)


@sync
async def test_tui_new_experiment_error_is_shown_literally(make_experiment):
    failing_experiment(make_experiment)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"[/b]")
        await pilot.press("enter")
        await pilot.pause()
        assert text_of(app.screen.query_one("#new-message")).startswith("'[/b]' cannot name an experiment")

