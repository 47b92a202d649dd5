"""The load-errors screen: every folder that failed to load, with its traceback.

Each failure shows its config path and message; its traceback is in a collapsible
section below (``Enter`` on it, or a click, unfolds it; ``t`` unfolds them all).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Collapsible, Footer, Header, Label, Static

from crystallize.cli.targets import display
from crystallize.cli.text import literal, printable

if TYPE_CHECKING:
    from crystallize.config import LoadFailure


class LoadErrorsScreen(Screen[None]):
    """Lists load failures: the config path, the message and the traceback."""

    BINDINGS = [Binding("escape,q,e", "back", "Back"), Binding("t", "tracebacks", "Tracebacks")]

    def __init__(self, failures: Sequence[LoadFailure]) -> None:
        super().__init__()
        self.failures = list(failures)

    def compose(self) -> ComposeResult:
        """A scrollable list of the failures."""
        from rich.text import Text

        yield Header(show_clock=False)
        yield Label(f"{len(self.failures)} folder(s) failed to load", classes="pane-title")
        with VerticalScroll(id="errors-body"):
            if not self.failures:
                yield Static("Every experiment folder loaded.")
            for failure in self.failures:
                text = Text()
                text.append(printable(display(failure.path)) + "\n", style="bold")
                text.append(printable(failure.message), style="red")
                yield Static(text, classes="failure")
                with Collapsible(title="traceback", collapsed=True):
                    yield Static(literal(failure.traceback.rstrip(), style="dim"), classes="traceback")
        yield Footer()

    def action_tracebacks(self) -> None:
        """Unfold (or fold again) every traceback."""
        sections = list(self.query(Collapsible))
        collapse = not any(s.collapsed for s in sections)
        for section in sections:
            section.collapsed = collapse

    def action_back(self) -> None:
        """Return to the selection screen."""
        self.app.pop_screen()


__all__ = ["LoadErrorsScreen"]
