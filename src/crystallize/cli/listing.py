"""``crystallize list``: the experiments and graphs found under the working directory."""

from __future__ import annotations

import json
import sys

import typer

from crystallize.cli.app import command_help
from crystallize.cli.targets import CatalogEntry, catalog, discover_here, display, stdout_to_stderr
from crystallize.cli.text import literal, stdout_console, unbroken, wrapping

#: Experiments with more treatments than this list a summary of them (all with ``--verbose``).
MAX_LISTED_TREATMENTS = 10


@command_help("List discovered experiments and graphs, and how many folders failed to load.")
def list_command(
    errors: bool = typer.Option(False, "--errors", "-e", help="Show why folders failed to load (with tracebacks)."),
    show_all: bool = typer.Option(False, "--all", "-a", help="Include experiments marked hidden."),
    json_output: bool = typer.Option(False, "--json", help="Print the listing as JSON."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help=f"List every treatment (beyond {MAX_LISTED_TREATMENTS}, a summary is shown)."
    ),
) -> None:
    with stdout_to_stderr(json_output):
        found = discover_here(".")
    entries = catalog(found, include_hidden=show_all)
    if json_output:
        print(json.dumps(listing_data(entries, found), indent=2))
        return
    console = stdout_console()
    if entries:
        console.print(listing_table(entries, verbose=verbose), crop=False)
    elif found.errors:  # folders are there, but none loaded: "create one" would mislead
        console.print(literal(f"No experiment under {display(found.root)} loaded."), soft_wrap=True)
    else:
        console.print(
            literal(f"No experiments under {display(found.root)} (create one with: crystallize new NAME)"),
            soft_wrap=True,
        )
    if not found.errors:
        return
    count = len(found.errors)
    if not errors:  # a note beside the listing (stderr), which is still complete: exit code 0
        print(f"{count} folder(s) failed to load; see why with: crystallize list --errors", file=sys.stderr)
        return
    console.print(f"{count} folder(s) failed to load:", style="bold red")
    for path, failure in found.errors.items():
        console.print()
        console.print(literal(display(path), style="bold"), soft_wrap=True)
        console.print(literal(failure.message), soft_wrap=True)
        console.print(literal(failure.traceback.rstrip(), style="dim"), soft_wrap=True)


def describe(entry: CatalogEntry) -> dict[str, object]:
    """One entry as plain data: name, kind, group, replicates, treatments (or graph order)."""
    experiment = entry.experiment
    data: dict[str, object] = {"name": entry.name, "kind": entry.kind, "group": entry.group}
    if entry.graph is not None:
        data["order"] = list(entry.graph.order)
        return data
    data["replicates"] = experiment.replicates
    data["treatments"] = [t.name for t in experiment.treatments]
    enabled = set(data["treatments"])  # type: ignore[arg-type]
    disabled = [t.name for t in getattr(experiment, "declared_treatments", ()) if t.name not in enabled]
    if disabled:
        data["disabled_treatments"] = disabled
    config = getattr(experiment, "config_path", None)
    if config is not None:
        data["path"] = display(config)
    return data


def listing_data(entries: list[CatalogEntry], found) -> dict[str, object]:  # noqa: ANN001
    """The JSON listing: entries and load errors."""
    return {
        "experiments": [describe(e) for e in entries],
        "errors": {display(path): failure.message for path, failure in found.errors.items()},
    }


def treatment_names(names: list[str], verbose: bool = False) -> str:
    """``a, b, c``; beyond :data:`MAX_LISTED_TREATMENTS` names (unless ``verbose``), a
    summary: ``500 treatments (t0, t1, …, t499)``."""
    if verbose or len(names) <= MAX_LISTED_TREATMENTS:
        return ", ".join(names)
    return f"{len(names)} treatments ({names[0]}, {names[1]}, …, {names[-1]})"


def listing_table(entries: list[CatalogEntry], verbose: bool = False):  # noqa: ANN201
    """A rich table of the entries, grouped (names shown literally, see :func:`literal`);
    long lists of treatments are summarised unless ``verbose`` (see :func:`treatment_names`)."""
    from rich.table import Table

    from crystallize.terminal_chart import WholeTable

    table = Table(box=None, pad_edge=False, header_style="bold")
    rows = []
    last_group = None
    for entry in entries:
        data = describe(entry)
        group = entry.group if entry.group != last_group else ""
        last_group = entry.group
        if entry.kind == "graph":
            rows.append([group, entry.name, "graph", "", " → ".join(data["order"])])  # type: ignore[arg-type]
            continue
        treatments = treatment_names(data["treatments"], verbose) or "-"  # type: ignore[arg-type]
        if data.get("disabled_treatments"):
            treatments += f" (disabled: {treatment_names(data['disabled_treatments'], verbose)})"  # type: ignore[arg-type]
        rows.append([group, entry.name, "experiment", str(data["replicates"]), treatments])
    for i, column in enumerate(("group", "name", "kind", "replicates", "treatments")):
        # names to type in commands, kinds and counts are never cut; groups and treatments
        # wrap between words
        fit = unbroken if column in ("name", "kind", "replicates") else wrapping
        table.add_column(column, **fit(column, [row[i] for row in rows]))
    for row in rows:
        table.add_row(*map(literal, row))
    return WholeTable(table)


__all__ = ["MAX_LISTED_TREATMENTS", "describe", "list_command", "listing_data", "listing_table", "treatment_names"]
