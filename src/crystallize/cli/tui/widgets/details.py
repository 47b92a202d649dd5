"""The details pane of the selection screen: description, last run and config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Static

from crystallize.cli.targets import display
from crystallize.cli.text import literal, printable
from crystallize.cli.tui.model import config_text, last_run_summary

if TYPE_CHECKING:
    from crystallize.cli.targets import CatalogEntry


def details_renderable(entry: CatalogEntry | None) -> Any:
    """A rich renderable describing ``entry`` (or a hint when nothing is highlighted); names
    and texts from the config are shown literally."""
    from rich.console import Group
    from rich.syntax import Syntax
    from rich.text import Text

    if entry is None:
        return Text("No experiment highlighted. Create one with n.", style="dim")
    experiment = entry.experiment
    parts: list[Any] = []
    title = literal(entry.name, style="bold")
    if entry.kind == "graph" and entry.graph is not None:
        title.append(printable(f"  graph: {' → '.join(entry.graph.order)}"), style="italic")
    parts.append(title)
    if experiment.description:
        parts.append(literal(experiment.description))
    config = getattr(experiment, "config_path", None)
    if config is not None:
        parts.append(literal(display(config), style="dim"))
    parts.append(Text(""))
    members = list(entry.graph) if entry.graph is not None else [experiment]
    for member in members:
        label = f"Last run of {member.name}: " if len(members) > 1 else "Last run: "
        line = Text(printable(label), style="bold")
        line.append(printable(last_run_summary(member)))
        parts.append(line)
    treatments = [t.name for t in experiment.treatments]
    info = literal(f"Replicates: {experiment.replicates} · Treatments: {', '.join(treatments) or 'none'}")
    parts.append(info)
    parts.append(Text(""))
    text = config_text(experiment)
    if text:
        parts.append(Syntax(text.rstrip(), "yaml", theme="ansi_dark", word_wrap=True, background_color="default"))
    return Group(*parts)


class ExperimentDetails(Static):
    """Shows :func:`details_renderable` for the highlighted catalog entry."""

    def show(self, entry: CatalogEntry | None) -> None:
        """Describe ``entry``."""
        self.update(details_renderable(entry))


__all__ = ["ExperimentDetails", "details_renderable"]
