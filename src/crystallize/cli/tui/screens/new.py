"""The new-experiment dialog: a name and whether to write the example study."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from crystallize.cli.errors import UserError
from crystallize.cli.scaffold import scaffold
from crystallize.cli.text import literal


class NewExperimentScreen(ModalScreen[tuple[str, Path] | None]):
    """Create an experiment folder where ``crystallize new`` would in ``project`` (see
    :func:`~crystallize.cli.scaffold.default_parent`); dismisses with its name and folder
    (``None`` when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, project: Path) -> None:
        super().__init__()
        self.project = project

    def compose(self) -> ComposeResult:
        """Name input, example checkbox, buttons."""
        with Vertical(id="new-dialog"):
            yield Label("New experiment", classes="pane-title")
            yield Input(placeholder="name, e.g. my_study", id="new-name")
            yield Checkbox("Example study (treatments, hypothesis)", id="new-example")
            yield Label("", id="new-message")
            with Horizontal(id="new-buttons"):
                yield Button("Create", variant="primary", id="new-create")
                yield Button("Cancel", id="new-cancel")

    def on_mount(self) -> None:
        """Focus the name."""
        self.query_one("#new-name", Input).focus()

    def create(self) -> None:
        """Write the folder, or show why not."""
        name = self.query_one("#new-name", Input).value.strip()
        example = self.query_one("#new-example", Checkbox).value
        try:
            folder = scaffold(name, example, project=self.project)
        except UserError as exc:
            self.query_one("#new-message", Label).update(literal(exc))  # it quotes the name typed
            return
        self.dismiss((name, folder))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the name field creates."""
        event.stop()
        self.create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Create or cancel."""
        event.stop()
        if event.button.id == "new-create":
            self.create()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without creating anything."""
        self.dismiss(None)


__all__ = ["NewExperimentScreen"]
