"""The textual application: the selection screen first, a run screen per experiment."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.screen import Screen

from crystallize.cli.tui.output import CapturedOutput, terminal_driver
from crystallize.cli.tui.screens.selection import SelectionScreen

CSS = """
Screen { layout: vertical; }
.pane-title { text-style: bold; padding: 0 1; background: $boost; width: 100%; }
#catalog, #plan { width: 38; min-width: 24; border-right: solid $primary-darken-2; }
#details { padding: 0 1; }
#load-status { height: 1; padding: 0 1; color: $warning; }
/* the status and counts lines wrap (height auto) rather than lose their ends in a narrow pane */
#run-status { width: 100%; height: auto; padding: 0 1; }
#run-counts { width: 100%; height: auto; padding: 0 1; color: $text-muted; }
#run-progress { height: 1; padding: 0 1; }
/* the tabs take the height left under the lines above (not the whole column: that hid the
   log's last lines and the summary's scrollbar under the footer) */
#run-tabs { height: 1fr; }
/* the summary's tables keep a row per line: the text does not wrap, its pane scrolls both ways */
#summary-body { width: auto; padding: 0 1; }
#errors-body { padding: 0 1; }
NewExperimentScreen { align: center middle; }
#new-dialog { width: 60; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
/* the error wraps at the dialog's width (an auto-width label grew past it and was cut) */
#new-message { color: $error; max-width: 100%; height: auto; }
#new-buttons { height: auto; margin-top: 1; }
"""


class CrystallizeApp(App[None]):
    """Browse the experiments under ``root``, run them, and look at their results.

    Args:
        root: the project directory (its ``experiments/`` folder is searched).
        output: the capture of file descriptors 1 and 2 in progress, if any: textual then
            draws on the terminal it kept aside, and run screens show what it reads.
    """

    TITLE = "Crystallize"
    CSS = CSS
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, root: str | Path = ".", output: CapturedOutput | None = None) -> None:
        terminal = output.terminal if output is not None else None
        super().__init__(driver_class=terminal_driver(terminal) if terminal is not None else None)
        self.root = Path(root)
        self.output = output

    def get_default_screen(self) -> Screen:
        """The selection screen."""
        return SelectionScreen(self.root)

    async def action_quit(self) -> None:
        """Quit, first telling every run in progress to stop after its replicates in flight.

        Cancelling here, not only when a run screen unmounts, keeps a quick quit from
        racing the shutdown: a run must never carry on to the end (and be stored as
        completed) after the user quit.
        """
        from crystallize.cli.tui.screens.run import RunScreen

        for screen in self.screen_stack:
            if isinstance(screen, RunScreen):
                screen.stop_run()
        self.exit()


__all__ = ["CrystallizeApp"]
