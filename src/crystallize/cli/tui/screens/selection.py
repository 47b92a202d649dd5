"""The selection screen: discovered experiments and graphs, grouped, with details.

Keys: ``Enter`` run the highlighted entry, ``n`` new experiment, ``r`` refresh,
``e`` load errors (with tracebacks), ``q`` quit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Tree

from crystallize.cli.targets import CatalogEntry, catalog, display
from crystallize.cli.text import literal, printable
from crystallize.cli.tui.widgets.details import ExperimentDetails

if TYPE_CHECKING:
    from crystallize.config import Discovery


def entry_label(entry: CatalogEntry) -> Any:
    """The tree label of an entry: icon, name (in its colour, shown literally), graph order."""
    from rich.style import Style
    from rich.text import Text

    cli = getattr(entry.experiment, "cli", None)
    icon = getattr(cli, "icon", None)
    color = getattr(cli, "color", None)
    label = Text()
    label.append(printable(f"{icon} ") if icon else ("⇶ " if entry.kind == "graph" else "• "))
    style = ""
    if color:
        try:
            style = str(Style.parse(color))
        except Exception:
            style = ""
    label.append(printable(entry.name), style=style)
    if entry.kind == "graph" and entry.graph is not None:
        label.append(f" (graph of {len(entry.graph)})", style="dim")
    return label


class SelectionScreen(Screen[None]):
    """Choose an experiment or graph to run."""

    BINDINGS = [
        Binding("enter", "run", "Run", priority=True),
        Binding("n", "new", "New"),
        Binding("r", "refresh", "Refresh"),
        Binding("e", "errors", "Load errors"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.found: Discovery | None = None
        self.entries: list[CatalogEntry] = []
        self._stale = False
        self._placing: Any = None  # the node the cursor goes to once the tree is laid out

    def compose(self) -> ComposeResult:
        """Header, the catalog tree beside the details pane, footer."""
        yield Header(show_clock=False)
        with Horizontal():
            with Vertical(id="catalog"):
                yield Label("Experiments", classes="pane-title")
                tree: Tree[CatalogEntry] = Tree("experiments", id="catalog-tree")
                tree.show_root = False
                yield tree
                yield Label("", id="load-status")
            with VerticalScroll(id="details-scroll"):
                yield ExperimentDetails(id="details")
        yield Footer()

    def on_mount(self) -> None:
        """Discover and fill the tree."""
        self.refresh_catalog()
        self.query_one("#catalog-tree", Tree).focus()

    # -- catalog -------------------------------------------------------------------------
    def refresh_catalog(self, select: str | None = None) -> None:
        """Discover again and rebuild the tree (keeping ``select`` or the current entry)."""
        from crystallize.cli.targets import discover_here

        tree = self.query_one("#catalog-tree", Tree)
        current = tree.cursor_node.data if tree.cursor_node is not None else None
        wanted = select or (current.key if isinstance(current, CatalogEntry) else None)
        self.found = discover_here(self.root)
        self.entries = catalog(self.found)
        tree.clear()
        tree.move_cursor(None)  # no cursor until it is placed (or the user moves it)
        self._placing = None  # a placement still pending is for nodes just removed
        groups: dict[str, Any] = {}
        target = None
        for entry in self.entries:
            if entry.group not in groups:
                groups[entry.group] = tree.root.add(literal(entry.group), expand=True)
            node = groups[entry.group].add_leaf(entry_label(entry), data=entry)
            if entry.key == wanted:
                target = node
        errors = len(self.found.errors)
        status = self.query_one("#load-status", Label)
        status.update(f"{errors} folder(s) failed to load — press e" if errors else "")
        if not self.entries:
            self.query_one(ExperimentDetails).show(None)
            return
        if target is None:
            target = next(iter(groups.values())).children[0]
        self._placing = target
        self.call_after_refresh(self._move_to, target)  # the node has no line before the layout

    def _move_to(self, node: Any) -> None:
        """Put the cursor on ``node``, unless a later refresh placed it elsewhere or the user
        moved the cursor meanwhile (a move made just after start is never undone)."""
        if node is not self._placing:
            return
        self._placing = None
        tree = self.query_one("#catalog-tree", Tree)
        if tree.cursor_node is not None:
            return
        tree.move_cursor(node)
        self._show(node.data)

    def _show(self, entry: Any) -> None:
        self.query_one(ExperimentDetails).show(entry if isinstance(entry, CatalogEntry) else None)

    @property
    def highlighted(self) -> CatalogEntry | None:
        """The entry under the tree's cursor (``None`` on a group line)."""
        node = self.query_one("#catalog-tree", Tree).cursor_node
        data = node.data if node is not None else None
        return data if isinstance(data, CatalogEntry) else None

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        """Show the details of the highlighted entry."""
        self._show(event.node.data)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        """Enter on an entry runs it."""
        if isinstance(event.node.data, CatalogEntry):
            event.stop()
            self.open_run(event.node.data)

    # -- actions -------------------------------------------------------------------------
    def open_run(self, entry: CatalogEntry) -> None:
        """Push the run screen of ``entry``."""
        from crystallize.cli.tui.screens.run import RunScreen

        config = getattr(entry.experiment, "config_path", None)
        if config is None:
            self.notify("This experiment has no config.yaml to load.", severity="error")
            return
        self._stale = True
        self.app.push_screen(RunScreen(Path(config), as_graph=entry.kind == "graph", title=entry.name))

    def action_run(self) -> None:
        """Run the highlighted entry (on a group line: fold or unfold the group)."""
        entry = self.highlighted
        if entry is not None:
            self.open_run(entry)
            return
        node = self.query_one("#catalog-tree", Tree).cursor_node
        if node is not None and node.allow_expand:
            node.toggle()

    def action_refresh(self) -> None:
        """Discover the experiments again."""
        self.refresh_catalog()
        self.notify("Experiments reloaded.", timeout=2)

    def action_errors(self) -> None:
        """Show the folders that failed to load."""
        from crystallize.cli.tui.screens.errors import LoadErrorsScreen

        failures = list(self.found.errors.values()) if self.found is not None else []
        self.app.push_screen(LoadErrorsScreen(failures))

    def action_new(self) -> None:
        """Ask for a name and create a new experiment folder."""
        from crystallize.cli.scaffold import placement_note
        from crystallize.cli.tui.screens.new import NewExperimentScreen

        def created(made: tuple[str, Path] | None) -> None:
            if made is None:
                return
            name, folder = made
            self.refresh_catalog(select=f"experiment:{name}")
            note = placement_note(folder, self.root)
            self.notify(
                printable(f"Created {display(folder)}." + (f" {note}" if note else "")),
                timeout=8 if note else 3, markup=False,
            )

        self.app.push_screen(NewExperimentScreen(self.root), created)

    def on_screen_resume(self) -> None:
        """Coming back from a run: refresh the details (last run, state)."""
        if self._stale:
            self._stale = False
            self.refresh_catalog()


__all__ = ["SelectionScreen", "entry_label"]
