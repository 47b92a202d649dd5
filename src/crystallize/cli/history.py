"""``crystallize show`` and ``crystallize runs``: past runs from the run store.

Runs live in ``<root_dir>/crystallize.db`` (the experiment's ArtifactPlugin
``root_dir``, ``data`` by default). Commands take an experiment's name or a path to its
folder or config.yaml (see :func:`experiment_arg`) and find the root from that
experiment; ``--root`` points elsewhere. ``diff`` lives in :mod:`crystallize.cli.diff`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crystallize.cli.app import command_help
from crystallize.cli.errors import (
    UserError,
    hold_signals,
    interrupted,
    known,
    on_interrupt,
    suggest,
)
from crystallize.cli.shell import command_line
from crystallize.cli.targets import display, stdout_to_stderr
from crystallize.cli.text import literal, printable, stdout_console, typed_name, unbroken, wrapping

if TYPE_CHECKING:
    from crystallize.config.discovery import DeclaredFolder
    from crystallize.result import Result
    from crystallize.store import RunInfo

ROOT_OPTION_HELP = "The data directory holding crystallize.db (default: the experiment's, else ./data)."
ROOT_MEANING = "--root must be the data directory holding crystallize.db"
EXPERIMENT_HELP = "The experiment: its name, or its folder / config.yaml."


@dataclass(frozen=True)
class ExperimentArg:
    """An experiment as a command was given it.

    Attributes:
        name: the experiment's name (the one its runs are stored under).
        given: what was typed (a name or a path), for hints.
        root: its data directory when it was given as a path (``None`` for a name:
            found from the config.yaml files here, see :func:`experiment_roots`).
    """

    name: str
    given: str
    root: Path | None = None


def experiment_arg(name_or_path: str) -> ExperimentArg:
    """The experiment ``name_or_path`` names: a name as is; for a folder or config.yaml,
    the name and data directory its config.yaml declares (read without importing the
    folder's code, so a folder whose code is broken still has its runs shown).

    Raises:
        UserError: the path does not exist.
        ConfigError: it is a folder holding no config.yaml, or its config.yaml cannot be
            parsed.
    """
    from crystallize.cli.targets import check_experiment_path, names_folder
    from crystallize.config.discovery import declared_folder
    from crystallize.config.loader import resolve_config_path

    if not names_folder(name_or_path):
        return ExperimentArg(typed_name(name_or_path), name_or_path)
    path = check_experiment_path(name_or_path)  # exists, can be read, is a folder or a config
    folder = declared_folder(resolve_config_path(path), strict=True)  # the one named: say what is wrong
    return ExperimentArg(folder.name, name_or_path, store_root(folder))


def store_root(folder: DeclaredFolder) -> Path:
    """Where the runs of ``folder``'s experiment are looked for: its data directory
    (``data`` for an experiment without a store, as for any experiment).

    Raises:
        UserError: its ``plugins.artifacts.root_dir`` cannot be a path (it holds a NUL
            byte, or is too long), naming its config.yaml.
    """
    problem = root_problem(folder)
    if problem is not None:
        raise UserError(problem)
    return folder.root if folder.root is not None else Path("data")


def root_problem(folder: DeclaredFolder) -> str | None:
    """Why ``folder``'s declared ``plugins.artifacts.root_dir`` cannot be a path, as a
    message naming its config.yaml; ``None`` when it can (or is ``null``)."""
    from crystallize.config.errors import path_problem, quoted_path

    if folder.root is None:
        return None
    text = str(folder.root)
    problem = path_problem(text)
    if problem is None:
        return None
    return f"{display(folder.config)}: plugins.artifacts.root_dir: {quoted_path(text)} {problem}."


def declared_here() -> list[DeclaredFolder]:
    """What every experiment folder under the working directory declares (no code is
    imported; ``[]`` when the tree cannot be read)."""
    from crystallize.config.discovery import declared_folders

    try:
        return declared_folders(".")
    except Exception:  # an unreadable tree must not hide the store
        return []


# -- finding stores and runs --------------------------------------------------------------
def has_store(root: Path) -> bool:
    """True when ``root`` holds a run store (checked without creating one); false as well
    when no path can be spelled so (a NUL byte, too long) or it is a symlink loop."""
    import errno

    from crystallize.store import DB_FILENAME

    try:
        return (Path(root) / DB_FILENAME).is_file()
    except ValueError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
            return False
        raise


def check_store_file(root: Path) -> None:
    """Refuse a ``crystallize.db`` in ``root`` that is not a file (e.g. a directory).

    Raises:
        UserError: naming it, instead of reporting that there are no runs.
    """
    from crystallize.store import DB_FILENAME

    db = Path(root) / DB_FILENAME
    if db.exists() and not db.is_file():
        raise UserError(
            f"{display(db)} is a directory, not a run store (the store is a file of that name); "
            f"rename that directory, or give --root the data directory holding the store."
        )


def check_root_option(root: str) -> Path:
    """``--root`` as a Path, after checking that it is a data directory with a run store.
    A leading ``~``/``~user`` is expanded to that home directory (see :func:`_home_expanded`).

    Raises:
        UserError: it is empty, too long or holds a NUL byte, starts with a ``~`` naming
            no home directory, cannot be read (a symlink loop, no permission), is a file
            (such as crystallize.db itself), missing, or holds no crystallize.db file.
    """
    from crystallize.cli.targets import check_path_text, stat_problem, unreadable
    from crystallize.store import DB_FILENAME

    if not root.strip():
        raise UserError(f"--root is empty; {ROOT_MEANING}.")
    check_path_text(root, "--root")
    path = _home_expanded(root, "--root")
    error = stat_problem(path)
    reason = unreadable(path, error) if error is not None else ""
    if reason:  # a symlink loop, no permission: not merely missing
        raise UserError(f"--root: {reason}; {ROOT_MEANING}.")
    if path.is_file():
        hint = f" Use: --root {display(path.parent)}" if path.name == DB_FILENAME else ""
        raise UserError(f"--root {display(path)} is a file; {ROOT_MEANING}.{hint}")
    if not path.is_dir():
        raise UserError(f"--root {display(path)} does not exist; {ROOT_MEANING}.")
    check_store_file(path)
    if not has_store(path):
        raise UserError(f"--root {display(path)} holds no crystallize.db (no run was stored there); {ROOT_MEANING}.")
    return path


def _home_expanded(root: str, what: str) -> Path:
    """``root`` (``what`` the user gave, e.g. ``--root``) as a Path, a leading ``~`` or
    ``~user`` expanded to that home directory (a shell leaves ``'~/x'`` and ``--root=~/x``
    unexpanded), as the run expands a data directory (see
    :func:`~crystallize.store.opening.data_directory`).

    Raises:
        UserError: it starts with a ``~`` that names no home directory.
    """
    from crystallize.config.errors import quoted_path
    from crystallize.exceptions import StoreError
    from crystallize.store.opening import data_directory

    try:
        return data_directory(root)
    except StoreError:
        raise UserError(
            f"{what} {quoted_path(root)}: its leading '~' names no home directory (no such user, or no "
            f"home directory known); give the directory in full, or start it with './' for a "
            f"directory of that name in the working directory."
        ) from None


def experiment_roots(name: str) -> list[Path]:
    """The data directories of every experiment folder here whose config.yaml declares
    ``name`` (several may: ``run`` uses the one that loads), in path order."""
    return [store_root(folder) for folder in declared_here() if folder.name == name]


def candidate_roots(
    root: str | None, experiment: ExperimentArg | None = None, everywhere: bool = False
) -> list[Path]:
    """Where to look for runs: ``--root``, else ``experiment``'s root (the root of every
    folder declaring its name), ``data`` and (with ``everywhere``) the root every
    experiment folder here declares (no code is imported)."""
    if root is not None:
        return [check_root_option(root)]
    roots: list[Path] = []
    if experiment is not None:
        roots += [experiment.root] if experiment.root is not None else experiment_roots(experiment.name)
    roots.append(Path("data"))
    if everywhere:  # another experiment's broken root_dir is its own problem: skip it
        roots += [store_root(folder) for folder in declared_here() if root_problem(folder) is None]
    unique: list[Path] = []
    for path in roots:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def runs_of(
    experiment: ExperimentArg, root: str | None, limit: int | None = None, *, none_ok: bool = False
) -> tuple[Path, list[RunInfo]]:
    """The stored runs of ``experiment`` (newest first) and the root holding them.

    With ``none_ok``, an experiment that exists (given by path, or discovered) but has
    no stored run gives its data directory and ``[]``; without, that is the
    :func:`never_ran` error.

    Raises:
        UserError: no store, or no run of that experiment in it (with ``none_ok``: only
            when no such experiment is found either).
    """
    from crystallize.store import list_runs

    name = experiment.name
    roots = candidate_roots(root, experiment)
    stored_names: set[str] = set()
    for path in roots:
        check_store_file(path)
        if not has_store(path):
            continue
        runs = list_runs(path, name, limit=limit)
        if runs:
            return path, runs
        stored_names.update(run.experiment for run in list_runs(path))
    where = ", ".join(display(p) for p in roots)
    files = [display(p) for p in roots if p.is_file()]
    if files:
        raise UserError(
            f"no stored runs of '{name}': {', '.join(files)} is a file, not a data directory. "
            "Move that file away (runs are stored in a directory of that name), or give "
            "--root the data directory that holds the run store."
        )
    exists = experiment.root is not None or bool(experiment_roots(name))
    if exists:
        if none_ok:
            return roots[0], []
        raise UserError(never_ran(experiment, roots[0]))
    if not stored_names:
        if root is None and not exists:
            raise UserError(
                f"no stored runs of '{name}' (looked in {where}), and no experiment of that name "
                "is found here. If it lives elsewhere, pass its folder (e.g. crystallize runs "
                "path/to/experiment) or give --root its data directory."
            )
        raise UserError(f"no stored runs of '{name}' (looked in {where}). Run it first: {command_line(['crystallize', 'run', experiment.given])}")
    raise UserError(
        f"no stored runs of '{name}' (looked in {where}).{suggest(name, stored_names)}"
        f"{known(stored_names, 'experiments with runs')}"
    )


def find_run(run_id: str, root: str | None, experiment: ExperimentArg | None = None) -> tuple[Path, RunInfo]:
    """The run ``run_id`` (a full id or a unique prefix) and the root holding it; the
    roots of ``experiment`` (when given) are searched first, and a prefix only matches
    that experiment's runs.

    Raises:
        UserError: no run with that id, an empty id, or the prefix is ambiguous.
    """
    from crystallize.store import list_runs

    listing = command_line(["crystallize", "runs", experiment.given]) if experiment is not None else "crystallize runs NAME"
    if not run_id.strip():
        raise UserError(f"the run id is empty; give a run id or its first characters (see {listing})")
    roots = candidate_roots(root, experiment, everywhere=True)
    matches: list[tuple[Path, RunInfo]] = []
    for path in roots:
        check_store_file(path)
        if not has_store(path):
            continue
        for run in list_runs(path):
            if run.run_id == run_id:
                return path, run
            if run.run_id.startswith(run_id) and all(run.run_id != m.run_id for _, m in matches):
                matches.append((path, run))
    mine = [m for m in matches if experiment is None or m[1].experiment == experiment.name]
    if mine or len(matches) > 1:  # a prefix of one other experiment's run: the caller says whose
        matches = mine
    if len(matches) == 1:
        return matches[0]
    where = ", ".join(display(p) for p in roots)
    if len(matches) > 1:
        ids = ", ".join(run.run_id for _, run in matches[:5])
        raise UserError(f"run id '{run_id}' is ambiguous: it starts {len(matches)} runs ({ids}). Give more characters.")
    raise UserError(
        f"no run with id '{run_id}' (looked in {where}). List the runs with: {listing}"
    )


# -- formatting ------------------------------------------------------------------------------
def format_time(timestamp: float | None) -> str:
    """A local time with its UTC offset, ``YYYY-MM-DD HH:MM:SS +HH:MM`` (``-`` when
    unknown): the same run reads the same moment in any time zone, and across a change
    to or from summer time a later run never looks earlier."""
    from datetime import datetime

    if not timestamp:
        return "-"
    moment = datetime.fromtimestamp(timestamp).astimezone()
    offset = moment.strftime("%z")  # "+1400" (datetime's own %z: portable, unlike time's)
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:5]}"


def format_duration(run: RunInfo) -> str:
    """How long the run spent running (``-`` while running)."""
    from crystallize.cli.progress import format_seconds

    seconds = run.active_seconds
    return "-" if seconds is None else format_seconds(seconds)


def iso_time(timestamp: float | None) -> str | None:
    """``timestamp`` as ISO 8601 in UTC, with its offset: ``2026-11-27T05:18:08.123+00:00``."""
    from datetime import UTC, datetime

    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def error_count(run: RunInfo) -> int | None:
    """Failed replicates, from the run's summary (``None`` when not recorded)."""
    summary = run.summary or {}
    value = summary.get("errors")
    return int(value) if isinstance(value, int) else None


def upstream_runs(run: RunInfo) -> dict[str, str] | None:
    """``{"prep#features": "run 2a4dbba8ba31 (v0)"}``: the producer run (and artifact
    version) each upstream output of ``run`` was read from, from its summary's
    ``upstream``; ``None`` when none is recorded (the run reads no other experiment's
    output, or was stored before these were recorded)."""
    from crystallize.config.upstream import describe_read

    entries = (run.summary or {}).get("upstream")
    found = {
        f"{entry.get('experiment')}#{entry.get('output')}": describe_read(entry)
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    }
    return found or None


def run_row(run: RunInfo) -> dict[str, object]:
    """A run as machine values, for ``runs --json``: times in ISO 8601 with their UTC
    offset, ``duration`` in seconds spent running (``None`` while running)."""
    seconds = run.active_seconds
    return {
        "run_id": run.run_id,
        "experiment": run.experiment,
        "status": run.status,
        "started": iso_time(run.started_at),
        "ended": iso_time(run.ended_at),
        "duration": None if seconds is None else round(seconds, 3),
        "records": run.n_records,
        "errors": error_count(run),
        "replicates": run.replicates,
        "base_seed": run.base_seed,
    }


def never_ran(experiment: ExperimentArg, where: Path, *, run_hint: bool = True) -> str:
    """What every command says of an experiment that has no stored run yet (with
    ``run_hint``, how to run it)."""
    message = f"no runs of '{experiment.name}' yet (looked in {display(where)})."
    return f"{message} Run it with: {command_line(['crystallize', 'run', experiment.given])}" if run_hint else message


def hint_root(experiment: ExperimentArg, where: str | Path) -> Path | None:
    """The ``--root`` a hint naming ``experiment`` must carry for its runs in ``where``:
    ``None`` when the command looks there first anyway."""
    try:
        first = candidate_roots(None, experiment)[0]
    except UserError:  # a declared root_dir that cannot be a path: name the store
        return Path(where)
    return None if first.resolve() == Path(where).resolve() else Path(where)


def history_command(verb: str, given: str, *args: str, root: str | Path | None = None) -> str:
    """``crystallize VERB GIVEN ARGS`` quoted for the shell, with ``--root ROOT`` when the
    runs are not where the experiment's name or path leads (``--root`` was given, or
    ``--set plugins.artifacts.root_dir=...`` moved the store)."""
    words = ["crystallize", verb, given, *args]
    if root is not None:
        words += ["--root", display(root)]
    return command_line(words)


def tracebacks_hint(given: str, run_id: str, root: str | Path | None = None) -> str:
    """The line pointing to the stored tracebacks of a run's failed replicates."""
    return f"See their tracebacks with: {history_command('show', given, '--run', run_id, '--tracebacks', root=root)}"


# -- commands --------------------------------------------------------------------------------
READ_ONLY_INTERRUPT = "Interrupted; nothing was changed."


@command_help("List the stored runs of an experiment, newest first.")
@on_interrupt(READ_ONLY_INTERRUPT)
def runs_command(
    name_or_path: str = typer.Argument(..., help=EXPERIMENT_HELP),
    limit: int = typer.Option(20, "--limit", "-l", min=1, help="Show at most this many runs."),
    show_all: bool = typer.Option(False, "--all", "-a", help="Show every run (no --limit)."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    with stdout_to_stderr(json_output):  # keep stdout pure JSON whatever prints
        experiment = experiment_arg(name_or_path)
        where, runs = runs_of(experiment, root, none_ok=True)
    shown = runs if show_all else runs[:limit]
    more = f"showing {len(shown)} of {len(runs)} runs; see more with --limit N or --all"
    if json_output:
        print(json.dumps([run_row(run) for run in shown], indent=2))
        if len(shown) < len(runs):
            print(more, file=sys.stderr)
        return
    console = stdout_console()
    if not runs:
        message = never_ran(experiment, where)
        console.print(literal(message[0].upper() + message[1:]), soft_wrap=True)
        return
    console.print(literal(f"Runs of '{experiment.name}' in {display(where)}:"), soft_wrap=True)
    console.print(runs_table(shown), crop=False)
    if len(shown) < len(runs):
        console.print(more, soft_wrap=True)


def runs_table(runs: list[RunInfo]):  # noqa: ANN201
    """A rich table of ``runs``: id, status, started, duration, records, errors (the
    start time wraps between its date, time and offset; nothing else ever does)."""
    from rich.table import Table

    from crystallize.terminal_chart import WholeTable

    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    styles = {"completed": "green", "failed": "red", "cancelled": "yellow", "interrupted": "yellow"}
    rows = [
        [
            run.run_id, run.status, format_time(run.started_at), format_duration(run), str(run.n_records),
            "-" if (errors := error_count(run)) is None else str(errors),
        ]
        for run in runs
    ]
    headers = ("id", "status", "started", "duration", "records", "errors")
    for i, column in enumerate(headers):
        fit = wrapping if column == "started" else unbroken
        justify = "right" if column in ("records", "errors") else "left"
        table.add_column(column, justify=justify, **fit(column, [row[i] for row in rows]))
    for row in rows:
        row[1] = literal(row[1], style=styles.get(row[1], "cyan"))
        table.add_row(*row)
    return WholeTable(table)


@command_help("Show a past run's report (the latest by default) with a terminal chart.")
@on_interrupt(READ_ONLY_INTERRUPT)
def show_command(
    name_or_path: str = typer.Argument(..., help=EXPERIMENT_HELP),
    run: str | None = typer.Option(None, "--run", "-r", help="A run id (default: the latest run)."),
    metric: str | None = typer.Option(None, "--metric", "-m", help="Chart only this metric."),
    chart: bool = typer.Option(True, "--chart/--no-chart", help="Draw each metric's distribution."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
    tracebacks: bool = typer.Option(
        False, "--tracebacks", help="Print the stored traceback of each failed replicate (also with --debug)."
    ),
) -> None:
    from crystallize.cli.errors import debug_enabled
    from crystallize.store import load_result

    experiment = experiment_arg(name_or_path)
    where, info = resolve_run(experiment, run, root)
    result = load_result(info.run_id, where)
    if metric is not None:
        metric = check_metric(result, metric)
    console = stdout_console()
    console.print(literal(show_header(info, result)), soft_wrap=True)
    if info.status == "running":  # as the HTML report's banner says
        console.print(literal(RUNNING_NOTE), soft_wrap=True)
    for output, producer in (upstream_runs(info) or {}).items():
        console.print(literal(f"Upstream: {output} from {producer}"), soft_wrap=True)
    console.print(literal(result.report().rstrip()), soft_wrap=True)
    if tracebacks or debug_enabled():
        console.print()
        console.print(literal(failure_tracebacks(result)), soft_wrap=True)
    elif result.errors:
        console.print(literal(tracebacks_hint(experiment.given, info.run_id, root)), soft_wrap=True)
    if chart:
        console.print()
        console.print(chart_for(result, metric), crop=False)


#: The line ``show`` prints under the header of a run still going.
RUNNING_NOTE = "Run still in progress: partial data, hypotheses not tested yet."


def show_header(info: RunInfo, result: Result) -> str:
    """``Run <id> of '<name>' · <status> · started <time> · <n> record(s) · <n> error(s)``.

    A run still going counts the records and errors of ``result`` (what ``show`` prints
    under it), marked ``so far``; another counts its summary's (its records and errors,
    from ``result``, when the summary does not say)."""
    running = info.status == "running"
    errors = None if running else error_count(info)
    records = len(result.records) if running else info.n_records
    so_far = " so far" if running else ""
    return (
        f"Run {info.run_id} of '{info.experiment}' · {info.status} · started {format_time(info.started_at)}"
        f" · {records} record(s){so_far} · {len(result.errors) if errors is None else errors} error(s){so_far}"
    )


def failure_tracebacks(result: Result) -> str:
    """The stored tracebacks of ``result``'s failed replicates, each one once, headed by
    the replicates that failed with it (``[baseline #0], [t #0] failed in step 'fit':``)."""
    if not result.errors:
        return "No replicate failed in this run: there is no traceback to show."
    groups: dict[tuple[str, str], list[str]] = {}
    for error in result.errors:
        groups.setdefault((str(error.step), error.traceback or ""), []).append(f"[{error.condition} #{error.replicate}]")
    shown = []
    for (step, text), where in groups.items():
        names = ", ".join(where[:5]) + (f" and {len(where) - 5} more" if len(where) > 5 else "")
        body = text.rstrip() or "No traceback was stored (see the error in the report above)."
        shown.append(f"{names} failed in step '{step}':\n{body}")
    return "\n\n".join(shown)


@command_help(
    """Write a past run's self-contained HTML report (plots, hypotheses, config, errors).

    An existing output file is replaced only when it is an earlier Crystallize report,
    or with --force.
    """
)
@on_interrupt("Interrupted; no report was written.")
def report_command(
    name_or_path: str = typer.Argument(..., help=EXPERIMENT_HELP),
    run: str | None = typer.Option(None, "--run", "-r", help="A run id (default: the latest run)."),
    output: str = typer.Option("report.html", "--output", "-o", metavar="PATH", help="Where to write the HTML file."),
    force: bool = typer.Option(
        False, "--force", "-f", help="Overwrite the output file even if it is not an earlier Crystallize report (never a run store or database)."
    ),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
) -> None:
    from crystallize.cli.paths import check_report_target, user_path, write_report_file
    from crystallize.store import load_result

    target = user_path(output, "-o/--output", file=True)
    check_report_target(target, force)
    where, info = resolve_run(experiment_arg(name_or_path), run, root)
    html = load_result(info.run_id, where).to_html()  # rendered before the file is touched
    with hold_signals() as held:  # never a half-written file
        write_report_file(target, html)
        print(printable(f"Wrote the report of run {info.run_id} of '{info.experiment}' to {display(target)}"))
    if held.signum is not None:
        raise interrupted("Interrupted, but only after the report was written.")


def resolve_run(experiment: ExperimentArg, run: str | None, root: str | None) -> tuple[Path, RunInfo]:
    """The store holding ``experiment``'s run ``run`` (the latest when ``None``) and the run."""
    if run is None:
        where, runs = runs_of(experiment, root, limit=1)
        return where, runs[0]
    where, info = find_run(run, root, experiment)
    if info.experiment != experiment.name:
        raise UserError(
            f"run '{info.run_id}' belongs to experiment '{info.experiment}', not '{experiment.name}'."
        )
    return where, info


def check_metric(result: Result, metric: str) -> str:
    """Refuse ``--metric`` when no condition of ``result`` recorded it (before any output);
    return its name as recorded (see :func:`~crystallize.cli.text.typed_name`).

    Raises:
        UserError: with a close match and the recorded metrics.
    """
    from crystallize.reporting_html.summary import metric_names  # what the chart offers

    names = metric_names(result)
    metric = typed_name(metric, names)
    if metric not in names:
        raise UserError(
            f"run '{result.run_id}' has no metric '{metric}'.{suggest(metric, names)}"
            f"{known(names, 'metrics')}"
        )
    return metric


def chart_for(result, metric: str | None, width: int | None = None):  # noqa: ANN001, ANN201
    """The terminal chart of ``result`` (see :func:`crystallize.terminal_chart.terminal_chart`)."""
    from crystallize.exceptions import MissingMetricError
    from crystallize.terminal_chart import terminal_chart

    try:
        return terminal_chart(result, metric=metric, width=width)
    except MissingMetricError as exc:
        raise UserError(str(exc)) from None


__all__ = [
    "EXPERIMENT_HELP",
    "ExperimentArg",
    "candidate_roots",
    "check_metric",
    "check_root_option",
    "check_store_file",
    "chart_for",
    "report_command",
    "resolve_run",
    "error_count",
    "root_problem",
    "experiment_arg",
    "failure_tracebacks",
    "find_run",
    "format_duration",
    "format_time",
    "has_store",
    "iso_time",
    "never_ran",
    "RUNNING_NOTE",
    "run_row",
    "runs_command",
    "runs_of",
    "runs_table",
    "show_command",
    "show_header",
    "hint_root",
    "history_command",
    "tracebacks_hint",
    "upstream_runs",
]
