"""The TUI driven with Textual's pilot: discovery, runs, switches, cancel, editor, new."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import stat
import sys
import time
from pathlib import Path

import pytest

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.runner import CallbackHandler, RunController
from crystallize.cli.tui.screens.errors import LoadErrorsScreen
from crystallize.cli.tui.screens.run import RunScreen
from crystallize.cli.tui.screens.selection import SelectionScreen
from crystallize.cli.tui.widgets.plan import PlanTree
from crystallize.store import list_runs

SIZE = (120, 40)


def sync(test):
    """Run an ``async def`` test with asyncio (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    """Let the app run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def tap(pilot, key: str) -> None:
    """Press ``key`` without waiting for the app to go idle.

    ``pilot.press`` waits until the process looks idle, up to about 2 s per key, which is
    as long as a short run: a key meant to reach a run in progress (cancel, quit) would
    arrive after it ended.
    """
    pilot.app.simulate_key(key)
    await pilot.pause(0)


def text_of(widget) -> str:
    """The plain text a Static or Label shows (rich renderables rendered)."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


def labels(tree) -> list[str]:
    out = []

    def walk(node):
        for child in node.children:
            out.append(str(child.label))
            walk(child)

    walk(tree.root)
    return out


async def open_run_screen(pilot, name: str) -> RunScreen:
    app = pilot.app
    tree = app.screen.query_one("#catalog-tree")
    await wait_for(pilot, lambda: any(getattr(n.data, "name", None) == name for n in _leaves(tree)))
    node = next(n for n in _leaves(tree) if n.data.name == name and n.data.kind == "experiment")
    tree.move_cursor(node)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
    await pilot.pause()
    return app.screen


def _leaves(tree):
    return [leaf for group in tree.root.children for leaf in group.children]


def plan_node(screen: RunScreen, kind: str, name: str = ""):
    tree = screen.query_one(PlanTree)
    found = []

    def walk(node):
        for child in node.children:
            if child.data is not None and child.data.kind == kind and (not name or child.data.name == name):
                found.append(child)
            walk(child)

    walk(tree.root)
    return found[0]


async def highlight(pilot, screen: RunScreen, kind: str, name: str = "") -> None:
    tree = screen.query_one(PlanTree)
    await pilot.pause()
    tree.move_cursor(plan_node(screen, kind, name))
    await pilot.pause()


def state(folder: Path) -> dict:
    return json.loads((folder / "config.state.json").read_text())


@sync
async def test_discovery_shows_the_experiments_graphs_and_errors(make_experiment, make_graph, make_broken):
    make_experiment("numbers", hypothesis=True)
    make_graph()
    make_broken()
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SelectionScreen)
        names = labels(screen.query_one("#catalog-tree"))
        assert names[:2] == ["Demo", "• numbers"]
        assert "Graph" in names and "• train" in names and "• evaluate" in names
        assert "⇶ evaluate (graph of 2)" in names
        assert "1 folder(s) failed to load" in text_of(screen.query_one("#load-status"))
        details = text_of(screen.query_one("#details"))
        assert "Shifting numbers by delta." in details and "no runs yet" in details
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadErrorsScreen))
        errors = app.screen
        assert "no step named 'totl'" in text_of(errors.query_one(".failure"))
        await pilot.press("t")
        await pilot.pause()
        assert not errors.query("Collapsible").first().collapsed
        assert "Traceback" in text_of(errors.query_one(".traceback"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SelectionScreen))


@sync
async def test_running_an_experiment_shows_its_summary(make_experiment):
    make_experiment("numbers", hypothesis=True)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        await pilot.pause()
        assert screen.query_one("#run-tabs").active == "summary-tab"
        summary = text_of(screen.query_one("#summary-body"))
        assert "Metrics (mean ± sd)" in summary and "Hypothesis 'bigger'" in summary
        assert "Artifacts:" in summary
        assert text_of(screen.query_one("#run-status")).startswith("done")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SelectionScreen))
        await pilot.pause()
        assert "completed" in text_of(app.screen.query_one("#details"))
    (run,) = list_runs("data", "numbers")
    assert run.status == "completed" and run.n_records == 9
    assert not [h for h in logging.getLogger("crystallize").handlers if isinstance(h, CallbackHandler)]


@sync
async def test_cache_and_treatment_switches_persist(make_experiment):
    folder = make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        assert "strategy numbers: resume" in text_of(screen.query_one("#run-status"))  # add_delta caches
        await highlight(pilot, screen, "step", "add_delta")
        await pilot.press("l")
        assert state(folder)["cache"] == {"add_delta": False}
        assert "strategy numbers: rerun" in text_of(screen.query_one("#run-status"))
        await highlight(pilot, screen, "experiment")
        await pilot.press("l")
        assert state(folder)["cache_all"] is True and state(folder)["cache"] == {}
        assert all(step.cacheable for step in screen.experiments[0].pipeline.steps)
        await highlight(pilot, screen, "treatment", "shifted")
        await pilot.press("x")
        assert state(folder)["disabled_treatments"] == ["shifted"]
        assert [t.name for t in screen.experiments[0].treatments] == ["doubled"]
        assert screen.total == 3 * 2
        await highlight(pilot, screen, "treatment", "shifted")
        await pilot.press("x")
        assert state(folder)["disabled_treatments"] == []


@sync
async def test_cancel_keeps_the_finished_replicates(make_experiment):
    folder = make_experiment("slow", replicates=40)
    config = folder / "config.yaml"
    config.write_text(config.read_text() + "initial_ctx: {pause: 0.03}\n")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "slow")
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.done >= 3)
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.controller is None, timeout=20)
        await pilot.pause()
        assert text_of(screen.query_one("#run-status")).startswith("cancelled")
        assert "record(s) kept" in text_of(screen.query_one("#run-status"))
    (run,) = list_runs("data", "slow")
    assert run.status == "cancelled"
    assert 3 <= run.n_records < 120


@pytest.fixture
def fake_editor(tmp_path, monkeypatch) -> Path:
    """An editor that writes its arguments to ``editor-args.txt``."""
    log = tmp_path / "editor-args.txt"
    script = tmp_path / "fake-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("CRYSTALLIZE_EDITOR", str(script))
    return log


@sync
async def test_e_opens_the_highlighted_step_in_the_editor(make_experiment, fake_editor):
    folder = make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await highlight(pilot, screen, "step", "total")
        await pilot.press("e")
        await wait_for(pilot, fake_editor.exists, timeout=10)
        assert Path(fake_editor.read_text()).resolve() == (folder / "steps.py").resolve()
        await highlight(pilot, screen, "treatment", "shifted")
        await pilot.press("e")
        await wait_for(pilot, lambda: fake_editor.read_text().endswith("config.yaml"), timeout=10)


@sync
async def test_n_creates_an_experiment_that_shows_up(make_experiment, tmp_path):
    make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"fresh")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SelectionScreen))
        await pilot.pause()
        assert (tmp_path / "experiments" / "fresh" / "config.yaml").is_file()
        tree = app.screen.query_one("#catalog-tree")
        assert "• fresh" in labels(tree)
        assert tree.cursor_node.data.name == "fresh"


@sync
async def test_graph_entry_runs_upstream_first(make_graph):
    make_graph()
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#catalog-tree")
        node = next(n for n in _leaves(tree) if n.data.kind == "graph")
        tree.move_cursor(node)
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen
        assert [e.name for e in screen.experiments] == ["train", "evaluate"]
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 4)
    assert [r.status for r in list_runs("data", "evaluate")] == ["completed"]
    assert [r.status for r in list_runs("data", "train")] == ["completed"]


@sync
async def test_q_quits_from_the_selection_screen(make_experiment):
    make_experiment("numbers")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SelectionScreen)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0, "q is documented as 'quit' on the selection screen"



def log_of(screen) -> str:
    """The run log's text, wrapped lines joined again."""
    return " ".join(" ".join(line.text for line in screen.query_one("#run-log").lines).split())


def notifications(app) -> list[str]:
    """The messages of the notifications shown so far."""
    return [str(n.message) for n in app._notifications]


@sync
async def test_a_hypothesis_typo_names_the_stored_run_and_shows_its_summary(make_experiment):
    folder = make_experiment("typo", hypothesis=True)
    config = folder / "config.yaml"
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "typo")
        await highlight(pilot, screen, "step", "add_delta")
        await pilot.press("l")  # caching off: strategy rerun, every run gets a new id
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        (old,) = list_runs("data", "typo")
        config.write_text(config.read_text().replace("metrics: total", "metrics: totl"))
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        await pilot.pause()
        new = next(r for r in list_runs("data", "typo") if r.run_id != old.run_id)
        log = log_of(screen)
        assert "Hypothesis 'bigger' reads metric 'totl'" in log
        assert f"crystallize show typo --run {new.run_id}" in log
        assert "Traceback" not in log, "a user's mistake gets one line, not the internal traceback"
        status = text_of(screen.query_one("#run-status"))
        assert status.startswith("failed") and new.run_id in status
        summary = text_of(screen.query_one("#summary-body"))
        assert f"Run {new.run_id} of typo" in summary and old.run_id not in summary


class _Stored:
    """A stand-in Result of a stored run."""

    run_id = "abc123"
    experiment = "stub"
    errors: list = []


class _Stub:
    """An experiment whose run raises ``error`` after it was stored."""

    name = "stub"
    treatments: list = []
    replicates = 1
    pipeline = None

    def __init__(self, error: Exception) -> None:
        self.error = error


def _run(error: Exception, monkeypatch):
    from crystallize import engine

    def stream(experiment, treatments=None, strategy="rerun", on_resumed=None):
        raise experiment.error

    monkeypatch.setattr(engine, "display_stream", stream)
    error.result = _Stored()
    controller = RunController([_Stub(error)], lambda *a: None, lambda *a: None, lambda text: None)
    return controller.run()


def test_any_error_raised_after_the_run_was_stored_names_the_run(monkeypatch):
    from crystallize.exceptions import StoreError

    user = _run(StoreError("the plugin could not publish"), monkeypatch)
    assert user.error.startswith("the plugin could not publish")
    assert "crystallize show stub --run abc123" in user.error
    assert user.user_error and user.stored["stub"].run_id == "abc123"

    bug = _run(ZeroDivisionError("division by zero"), monkeypatch)
    assert bug.error.startswith("unexpected ZeroDivisionError: division by zero")
    assert "crystallize show stub --run abc123" in bug.error
    assert not bug.user_error and "Traceback" in bug.details


@sync
async def test_a_config_broken_while_the_screen_is_open_says_so_and_recovers(make_experiment):
    folder = make_experiment("numbers")
    config: Path = folder / "config.yaml"
    good = config.read_text()
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "numbers")
        await highlight(pilot, screen, "step", "add_delta")
        config.write_text(good.replace("steps:", "stepz:"))
        await pilot.press("R")
        await pilot.pause()
        assert screen.controller is None
        assert "stepz" in log_of(screen)
        assert "cannot load experiments/numbers/config.yaml" in text_of(screen.query_one("#run-status"))
        plan = labels(screen.query_one("#plan-tree"))
        assert not any("add_delta" in line for line in plan), "the plan of the old config is gone"
        assert any("cannot be loaded" in line for line in plan)
        await pilot.press("l")
        await pilot.pause()
        assert "experiments/numbers/config.yaml cannot be loaded" in notifications(app)[-1]
        await pilot.press("x")
        await pilot.pause()
        assert "experiments/numbers/config.yaml cannot be loaded" in notifications(app)[-1]
        config.write_text(good)
        await pilot.press("R")  # reloads only
        await pilot.pause()
        assert screen.controller is None and text_of(screen.query_one("#run-status")).startswith("ready")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None and screen.done == 9)
        await pilot.pause()
        assert text_of(screen.query_one("#run-status")).startswith("done")
        assert any("add_delta" in line for line in labels(screen.query_one("#plan-tree")))
