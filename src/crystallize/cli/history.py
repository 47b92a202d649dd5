"""``crystallize show`` and ``crystallize runs``: past runs from the run store.

Runs live in ``<root_dir>/crystallize.db`` (the experiment's ArtifactPlugin
``root_dir``, ``data`` by default). Commands find the root from the discovered
experiment; ``--root`` points elsewhere. ``diff`` lives in :mod:`crystallize.cli.diff`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crystallize.cli.errors import UserError, known, suggest
from crystallize.cli.targets import data_root, display

if TYPE_CHECKING:
    from crystallize.store import RunInfo

ROOT_OPTION_HELP = "The data directory holding crystallize.db (default: the experiment's, else ./data)."


# -- finding stores and runs --------------------------------------------------------------
def has_store(root: Path) -> bool:
    """True when ``root`` holds a run store (checked without creating one)."""
    from crystallize.store import DB_FILENAME

    return (Path(root) / DB_FILENAME).is_file()


def experiment_root(name: str) -> Path | None:
    """The data directory of the discovered experiment ``name`` (``None`` if not found)."""
    from crystallize.cli.targets import discover_here

    try:
        found = discover_here(".")
    except Exception:  # an unreadable tree must not hide the store
        return None
    experiment = found.experiments.get(name)
    return data_root(experiment) if experiment is not None else None


def candidate_roots(root: str | None, name: str | None = None) -> list[Path]:
    """Where to look for runs: ``--root``, else the experiment's root, ``data`` and every
    discovered experiment's root."""
    if root is not None:
        return [Path(root)]
    roots: list[Path] = []
    if name is not None:
        found = experiment_root(name)
        if found is not None:
            roots.append(found)
    roots.append(Path("data"))
    if name is None:
        from crystallize.cli.targets import discover_here

        try:
            found_all = discover_here(".")
        except Exception:
            found_all = None
        if found_all is not None:
            roots += [data_root(e) for e in found_all.experiments.values()]
    unique: list[Path] = []
    for path in roots:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def runs_of(name: str, root: str | None, limit: int | None = None) -> tuple[Path, list[RunInfo]]:
    """The stored runs of experiment ``name`` (newest first) and the root holding them.

    Raises:
        UserError: no store, or no run of that experiment in it.
    """
    from crystallize.store import list_runs

    roots = candidate_roots(root, name)
    stored_names: set[str] = set()
    for path in roots:
        if not has_store(path):
            continue
        runs = list_runs(path, name, limit=limit)
        if runs:
            return path, runs
        stored_names.update(run.experiment for run in list_runs(path))
    where = ", ".join(display(p) for p in roots)
    if not stored_names:
        raise UserError(f"no stored runs of '{name}' (looked in {where}). Run it first: crystallize run {name}")
    raise UserError(
        f"no stored runs of '{name}' (looked in {where}).{suggest(name, stored_names)}"
        f"{known(stored_names, 'experiments with runs')}"
    )


def find_run(run_id: str, root: str | None) -> tuple[Path, RunInfo]:
    """The run ``run_id`` (a full id or a unique prefix) and the root holding it.

    Raises:
        UserError: no run with that id, or the prefix is ambiguous.
    """
    from crystallize.store import list_runs

    roots = candidate_roots(root)
    matches: list[tuple[Path, RunInfo]] = []
    for path in roots:
        if not has_store(path):
            continue
        for run in list_runs(path):
            if run.run_id == run_id:
                return path, run
            if run.run_id.startswith(run_id):
                matches.append((path, run))
    if len(matches) == 1:
        return matches[0]
    where = ", ".join(display(p) for p in roots)
    if len(matches) > 1:
        ids = ", ".join(run.run_id for _, run in matches[:5])
        raise UserError(f"run id '{run_id}' is ambiguous: it starts {len(matches)} runs ({ids}). Give more characters.")
    raise UserError(
        f"no run with id '{run_id}' (looked in {where}). List the runs with: crystallize runs NAME"
    )


# -- formatting ------------------------------------------------------------------------------
def format_time(timestamp: float | None) -> str:
    """A local ``YYYY-MM-DD HH:MM:SS`` (``-`` when unknown)."""
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def format_duration(run: RunInfo) -> str:
    """How long the run took (``-`` while running)."""
    from crystallize.cli.progress import format_seconds

    if run.ended_at is None:
        return "-"
    return format_seconds(max(0.0, run.ended_at - run.started_at))


def error_count(run: RunInfo) -> int | None:
    """Failed replicates, from the run's summary (``None`` when not recorded)."""
    summary = run.summary or {}
    value = summary.get("errors")
    return int(value) if isinstance(value, int) else None


def run_row(run: RunInfo) -> dict[str, object]:
    """A run as plain data for listings."""
    return {
        "run_id": run.run_id,
        "experiment": run.experiment,
        "status": run.status,
        "started": format_time(run.started_at),
        "duration": format_duration(run),
        "records": run.n_records,
        "errors": error_count(run),
        "replicates": run.replicates,
        "base_seed": run.base_seed,
    }


# -- commands --------------------------------------------------------------------------------
def runs_command(
    name: str = typer.Argument(..., help="The experiment's name."),
    limit: int | None = typer.Option(20, "--limit", "-l", min=1, help="Show at most this many runs."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """List the stored runs of an experiment, newest first."""
    from rich.console import Console
    from rich.table import Table

    where, runs = runs_of(name, root, limit)
    rows = [run_row(run) for run in runs]
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    for column in ("id", "status", "started", "duration", "records", "errors"):
        table.add_column(column, justify="right" if column in ("records", "errors") else "left")
    styles = {"completed": "green", "failed": "red", "cancelled": "yellow", "interrupted": "yellow"}
    for row in rows:
        errors = row["errors"]
        table.add_row(
            str(row["run_id"]),
            f"[{styles.get(str(row['status']), 'cyan')}]{row['status']}[/]",
            str(row["started"]),
            str(row["duration"]),
            str(row["records"]),
            "-" if errors is None else str(errors),
        )
    console = Console(highlight=False)
    console.print(f"Runs of '{name}' in {display(where)}:", soft_wrap=True)
    console.print(table)


def show_command(
    name: str = typer.Argument(..., help="The experiment's name."),
    run: str | None = typer.Option(None, "--run", "-r", help="A run id (default: the latest run)."),
    metric: str | None = typer.Option(None, "--metric", "-m", help="Chart only this metric."),
    chart: bool = typer.Option(True, "--chart/--no-chart", help="Draw each metric's distribution."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
) -> None:
    """Show a past run's report (the latest by default) with a terminal chart."""
    from rich.console import Console

    from crystallize.store import load_result

    where, info = resolve_run(name, run, root)
    result = load_result(info.run_id, where)
    console = Console(highlight=False)
    errors = error_count(info)
    console.print(
        f"Run {info.run_id} of '{info.experiment}' · {info.status} · started {format_time(info.started_at)}"
        f" · {info.n_records} record(s) · {'?' if errors is None else errors} error(s)",
        soft_wrap=True, markup=False,
    )
    console.print(result.report().rstrip(), markup=False, soft_wrap=True)
    if chart:
        console.print()
        longest = max((len(c) for c in result.conditions), default=8)
        console.print(chart_for(result, metric, width=max(20, min(60, console.width - longest - 40))))


def report_command(
    name: str = typer.Argument(..., help="The experiment's name."),
    run: str | None = typer.Option(None, "--run", "-r", help="A run id (default: the latest run)."),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="Where to write the HTML file."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
) -> None:
    """Write a past run's self-contained HTML report (plots, hypotheses, config, errors)."""
    from crystallize.store import load_result

    where, info = resolve_run(name, run, root)
    load_result(info.run_id, where).to_html(output)
    print(f"Wrote the report of run {info.run_id} of '{name}' to {output}")


def resolve_run(name: str, run: str | None, root: str | None) -> tuple[Path, RunInfo]:
    """The store holding ``name``'s run ``run`` (the latest when ``None``) and the run."""
    if run is None:
        where, runs = runs_of(name, root, limit=1)
        return where, runs[0]
    where, info = find_run(run, root)
    if info.experiment != name:
        raise UserError(f"run '{info.run_id}' belongs to experiment '{info.experiment}', not '{name}'.")
    return where, info


def chart_for(result, metric: str | None, width: int = 50):  # noqa: ANN001, ANN201
    """The terminal chart of ``result`` (see :func:`crystallize.terminal_chart.terminal_chart`)."""
    from crystallize.exceptions import MissingMetricError
    from crystallize.terminal_chart import terminal_chart

    try:
        return terminal_chart(result, metric=metric, width=width)
    except MissingMetricError as exc:
        raise UserError(str(exc)) from None


__all__ = [
    "candidate_roots",
    "chart_for",
    "report_command",
    "resolve_run",
    "error_count",
    "find_run",
    "format_duration",
    "format_time",
    "has_store",
    "run_row",
    "runs_command",
    "runs_of",
    "show_command",
]
