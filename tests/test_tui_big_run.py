"""Opening an experiment whose last run is large: the artifact counts come from the
store without decoding every record's steps, and the TUI loads the summary in a worker."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import textwrap
import threading
import time
from pathlib import Path

import pytest

from crystallize.cli.tui import model
from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.run import RunScreen
from crystallize.experiment import Experiment
from crystallize.result import Result

DATASOURCES = """
from crystallize import data_source


@data_source
def numbers(ctx):
    return [1.0, 2.0, 3.0]
"""

STEPS = """
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def fit(data, ctx, model: Artifact, notes: Artifact):
    model.write(str(sum(data)))
    if ctx["replicate"] == 0:
        notes.write("first")
    return data, {"fit": sum(data)}
"""

CONFIG = """
name: art
replicates: 3
cli: {group: Demo}
datasource: numbers
steps: [fit]
outputs:
  model: {file_name: model.txt}
  notes: {file_name: notes.txt}
treatments:
  more: {}
plugins:
  seed: {seed: 1}
"""


@pytest.fixture
def stored_light_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Experiment, Result]:
    """A stored run of ``art`` loaded back as a large run is (records without steps)."""
    folder = tmp_path / "experiments" / "art"
    folder.mkdir(parents=True)
    for name, text in {"config.yaml": CONFIG, "datasources.py": DATASOURCES, "steps.py": STEPS}.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    Experiment.from_yaml(folder / "config.yaml").run()
    monkeypatch.setattr("crystallize.session.LIGHT_RECORDS_FROM", 1)  # load it as a large run
    experiment = Experiment.from_yaml(folder / "config.yaml")
    result = model.last_result(experiment)
    assert result is not None
    return experiment, result


def forbid_full_records(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Result) -> list:
        raise AssertionError("full_records() decodes every record's steps")

    monkeypatch.setattr(Result, "full_records", refuse)


def test_artifacts_of_a_large_stored_run_are_counted_in_the_store(stored_light_run, monkeypatch):
    experiment, result = stored_light_run
    expected = model.artifacts_summary(experiment, result)  # before the fix: via full_records
    assert expected.endswith("model.txt ×6, notes.txt ×2"), expected
    forbid_full_records(monkeypatch)
    assert model.artifacts_summary(experiment, result) == expected


def test_artifact_counts_read_the_older_payload_forms(stored_light_run, monkeypatch):
    """Records stored positionally, with keyed steps (an earlier format), count too."""
    experiment, result = stored_light_run
    expected = model.artifacts_summary(experiment, result)
    db = sqlite3.connect(Path("data") / "crystallize.db")
    with db:
        for rowid, payload in db.execute("SELECT rowid, payload FROM records").fetchall():
            data = json.loads(payload)
            names = ("name", "params", "input_hash", "output_hash", "cache_hit", "ctx_reads",
                     "ctx_writes", "metrics", "duration", "cache_miss_reason", "artifacts")
            steps = [dict(zip(names, step, strict=False)) for step in data["steps"]]
            old = [data.get("seed"), data["metrics"], steps, None, data["duration"]]
            db.execute("UPDATE records SET payload = ? WHERE rowid = ?", (json.dumps(old), rowid))
    db.close()
    forbid_full_records(monkeypatch)
    assert model.artifacts_summary(experiment, result) == expected


def text_of(widget) -> str:
    """The plain text a Static shows."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def hold_last_result(monkeypatch) -> threading.Event:
    """Make reading the last stored run wait (up to 10 s) until the returned event is set."""
    release = threading.Event()
    load = model.last_result

    def slow_last_result(experiment):
        release.wait(timeout=10)
        return load(experiment)

    monkeypatch.setattr(model, "last_result", slow_last_result)
    return release


async def open_run_screen(app, pilot, name: str) -> None:
    """Pick experiment ``name`` in the catalog and open its run screen."""
    tree = app.screen.query_one("#catalog-tree")
    leaves = lambda: [leaf for group in tree.root.children for leaf in group.children]  # noqa: E731
    await wait_for(pilot, lambda: any(getattr(n.data, "name", None) == name for n in leaves()))
    tree.move_cursor(next(n for n in leaves() if n.data.name == name))
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))


def test_the_run_screen_shows_at_once_and_loads_the_last_run_in_a_worker(stored_light_run, monkeypatch):
    """While the last run is read the screen is up and says so; then the summary fills in."""
    forbid_full_records(monkeypatch)
    release = hold_last_result(monkeypatch)  # on the UI thread this would freeze the screen

    async def scenario() -> None:
        app = CrystallizeApp(".")
        async with app.run_test(size=(120, 40)) as pilot:
            await open_run_screen(app, pilot, "art")
            screen = app.screen
            body = screen.query_one("#summary-body")
            assert "Loading the last stored run" in text_of(body)
            assert not release.is_set()
            release.set()
            await wait_for(pilot, lambda: "Last stored run of art" in text_of(body))
            summary = text_of(body)
            assert "Artifacts: model.txt ×6, notes.txt ×2" in summary

    asyncio.run(scenario())


def test_a_run_started_while_loading_keeps_its_own_summary(stored_light_run, monkeypatch):
    """The last stored run, read after a run started here, does not replace that run's summary."""
    release = hold_last_result(monkeypatch)

    async def scenario() -> None:
        app = CrystallizeApp(".")
        async with app.run_test(size=(120, 40)) as pilot:
            await open_run_screen(app, pilot, "art")
            screen = app.screen
            await pilot.press("R")
            await wait_for(pilot, lambda: screen.controller is None and screen.done == 6)
            body = screen.query_one("#summary-body")
            await wait_for(pilot, lambda: "Run " in text_of(body))
            release.set()
            await pilot.pause(0.5)
            assert "Last stored run" not in text_of(body)
            assert "model.txt ×6, notes.txt ×2" in text_of(body)

    asyncio.run(scenario())


def test_a_run_started_while_loading_replaces_the_loading_line(stored_light_run, monkeypatch):
    """Pressing R while the last stored run is read: the summary says a run is going."""
    from crystallize.cli.tui.runner import RunController

    release = hold_last_result(monkeypatch)
    go = threading.Event()
    run = RunController.run

    def held_run(self):
        go.wait(timeout=10)
        return run(self)

    monkeypatch.setattr(RunController, "run", held_run)

    async def scenario() -> None:
        app = CrystallizeApp(".")
        async with app.run_test(size=(120, 40)) as pilot:
            await open_run_screen(app, pilot, "art")
            screen = app.screen
            body = screen.query_one("#summary-body")
            assert "Loading the last stored run" in text_of(body)
            await pilot.press("R")
            assert "Loading the last stored run" not in text_of(body)
            assert "Running" in text_of(body)
            go.set()
            await wait_for(pilot, lambda: screen.controller is None)
            release.set()

    asyncio.run(scenario())
