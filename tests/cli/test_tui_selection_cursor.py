"""The selection screen puts its cursor on an entry after the tree is laid out; a move the
user makes before that deferred placement is never undone."""

from __future__ import annotations

import asyncio
import functools
import io

from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.widgets.details import ExperimentDetails

SIZE = (120, 40)


def sync(test):
    """Run an ``async def`` test with asyncio."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def _details_title(screen) -> str:
    """The first line of the details pane: the name of the entry it describes."""
    from rich.console import Console

    console = Console(width=120, file=io.StringIO(), color_system=None)
    console.print(screen.query_one(ExperimentDetails).content)
    return console.file.getvalue().splitlines()[0]


def _leaf(tree, name: str):
    return next(leaf for group in tree.root.children for leaf in group.children if leaf.data.name == name)


async def _settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause(0.05)


@sync
async def test_a_move_made_before_the_deferred_placement_is_kept(make_experiment):
    for name in ("alpha", "beta", "gamma"):
        make_experiment(name)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        screen = app.screen
        tree = screen.query_one("#catalog-tree")
        assert tree.cursor_node.data.name == "alpha"
        screen.refresh_catalog()  # places the cursor on alpha again once the tree is laid out
        assert tree.last_line == 3  # (lays the new tree's lines out, as a keypress would find them)
        tree.move_cursor(_leaf(tree, "gamma"))  # the user moves before that
        await _settle(pilot)
        assert tree.cursor_node.data.name == "gamma"
        assert _details_title(screen) == "gamma"


@sync
async def test_without_a_move_the_cursor_goes_to_the_entry_asked_for(make_experiment):
    for name in ("alpha", "beta", "gamma"):
        make_experiment(name)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        screen = app.screen
        tree = screen.query_one("#catalog-tree")
        screen.refresh_catalog(select="experiment:gamma")
        screen.refresh_catalog(select="experiment:beta")  # the later refresh wins
        await _settle(pilot)
        assert tree.cursor_node.data.name == "beta"
        assert _details_title(screen) == "beta"
