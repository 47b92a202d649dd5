"""``crystallize delete`` and ``crystallize compact``: remove runs, give the space back.

Both work on the run store that ``runs`` lists (see :mod:`crystallize.cli.history`) and
call :func:`crystallize.store.delete_runs` and :func:`crystallize.store.compact`.
"""

from __future__ import annotations

import sys
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
from crystallize.cli.history import (
    EXPERIMENT_HELP,
    ROOT_OPTION_HELP,
    ExperimentArg,
    candidate_roots,
    experiment_arg,
    has_store,
    hint_root,
    history_command,
    never_ran,
    resolve_run,
    runs_of,
    runs_table,
)
from crystallize.cli.shell import command_line
from crystallize.cli.targets import display
from crystallize.cli.text import printable, stdout_console

if TYPE_CHECKING:
    from crystallize.store import DeletedRuns


@command_help(
    """Delete stored runs of an experiment, with the artifact folders only they use.

    Asks before deleting (unless --yes), then compacts the store file (unless --no-compact).
    """
)
@on_interrupt("Interrupted; nothing was deleted.")
def delete_command(
    name_or_path: str = typer.Argument(..., help=EXPERIMENT_HELP),
    run_ids: list[str] | None = typer.Argument(
        None, help="Runs to delete (ids or unique prefixes)."
    ),
    keep: int | None = typer.Option(None, "--keep", "-k", min=0, help="Keep the newest N runs, delete the others."),
    status: list[str] | None = typer.Option(
        None, "--status", help="Only runs with this status (repeat, or a,b): completed, failed, cancelled, interrupted."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be deleted."),
    compact_store: bool = typer.Option(True, "--compact/--no-compact", help="Shrink the store file afterwards."),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
) -> None:
    from crystallize.store import delete_runs

    experiment = experiment_arg(name_or_path)
    statuses = parse_statuses(status or [])
    if not run_ids and keep is None and not statuses:
        raise UserError(
            f"say which runs to delete: RUN_ID..., --keep N or --status S (--keep 0 deletes every "
            f"run of '{experiment.name}'); see them with: {history_command('runs', experiment.given, root=root)}"
        )
    try:
        where, ids = selected_runs(experiment, run_ids or [], root)
    except UserError:
        # No run of it anywhere: a deletion of all its runs that was stopped may have left
        # their folders (an experiment defined in Python has no folder to be found by).
        if run_ids or not clear_leftovers(experiment.name, candidate_roots(root, experiment), dry_run):
            raise
        return
    if ids == []:
        if not clear_leftovers(experiment.name, [where], dry_run):
            print(printable(f"Nothing to delete: {never_ran(experiment, where, run_hint=False)}"))
        return
    plan = delete_runs(where, experiment.name, ids, keep_last=keep, status=statuses or None, dry_run=True) if has_store(where) else None
    if plan is None or not plan.runs:
        print(printable(f"Nothing to delete: no run of '{experiment.name}' in {display(where)} matches."))
        if plan is not None and plan.artifact_dirs:
            leftovers = plan if dry_run else delete_runs(where, experiment.name, [])
            print_leftovers(leftovers, experiment.name, dry_run)
        return
    print_plan(plan, where)
    if dry_run:
        print("Nothing deleted (--dry-run).")
        return
    if not yes and not confirm(printable(f"Delete {len(plan.runs)} run(s) of '{experiment.name}'?")):
        print("Nothing deleted.")
        return
    try:
        done = delete_runs(where, experiment.name, [run.run_id for run in plan.runs])
    except KeyboardInterrupt:
        raise interrupted(interrupted_deletion(where, experiment, plan)) from None
    with hold_signals() as held:  # the runs are gone: finish compacting and saying so
        freed = compact_after_delete(where) if compact_store else 0
        print(printable(
            f"Deleted {len(done.runs)} run(s) of '{experiment.name}' and {len(done.artifact_dirs)} artifact "
            f"folder(s); reclaimed {format_bytes(done.artifact_bytes + freed)}"
            f" (artifacts {format_bytes(done.artifact_bytes)}, store {format_bytes(freed)})."
        ))
    if held.signum is not None:
        compacted = " and the store compacted" if compact_store else ""
        raise interrupted(f"Interrupted, but only after the runs were deleted{compacted}.")


@command_help("Shrink the run store file to its data (after runs were deleted). Refused while a run is going.")
@on_interrupt("Interrupted; the store was not compacted (it is unchanged).")
def compact_command(
    name_or_path: str | None = typer.Argument(
        None, help="An experiment whose store to compact (its name, or its folder / config.yaml)."
    ),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
) -> None:
    from crystallize.store import DB_FILENAME, compact

    if name_or_path is not None:
        experiment = experiment_arg(name_or_path)
        # An unknown (say, misspelt) name is an error, not the store of ./data.
        found, _ = runs_of(experiment, root, limit=1, none_ok=True)
        roots = [found]
    else:
        roots = candidate_roots(root)
    where = next((path for path in roots if has_store(path)), None)
    if where is None:
        places = ", ".join(display(p) for p in roots)
        if name_or_path is not None and root is None:  # a known experiment that never ran
            raise UserError(
                f"no run store in {places}: '{experiment.name}' has not been run yet, so there is "
                f"nothing to compact (run it with: {command_line(['crystallize', 'run', experiment.given])})."
            )
        raise UserError(f"no run store in {places}; give --root the data directory holding {DB_FILENAME}.")
    with hold_signals() as held:  # SQLite rewrites the file in one go: let it finish
        freed = compact(where)
        size = (where / DB_FILENAME).stat().st_size
        print(printable(
            f"Compacted {display(where / DB_FILENAME)}: reclaimed {format_bytes(freed)}; it now takes {format_bytes(size)}."
        ))
    if held.signum is not None:
        raise interrupted("Interrupted, but only after the store was compacted (a compaction cannot stop halfway).")


def interrupted_deletion(where: Path, experiment: ExperimentArg, plan: DeletedRuns) -> str:
    """What is said of Ctrl+C while the runs of ``plan`` were deleted: they go in one
    transaction, so the store tells whether none or all of them are deleted; in the
    latter case only the removal of their folders stopped, which the next ``delete`` or
    ``compact`` finishes."""
    from crystallize.store import list_runs

    wanted = {run.run_id for run in plan.runs}
    try:
        left = wanted & {run.run_id for run in list_runs(where, experiment.name)}
    except Exception:  # the store cannot be read now: say what may be
        left = None
    if left == wanted:
        return "Interrupted while deleting; nothing was deleted."
    if left == set():
        return (
            f"Interrupted after the {len(wanted)} run(s) were deleted, while their artifact folders "
            f"were being removed; the next delete or compact removes what is left of them: "
            f"{command_line(['crystallize', 'compact', '--root', display(where)])}"
        )
    return (
        f"Interrupted while deleting: some of the {len(wanted)} run(s) may be deleted already. "
        f"See what is left with: {history_command('runs', experiment.given, root=hint_root(experiment, where))}"
    )


def clear_leftovers(experiment: str, roots: list[Path], dry_run: bool) -> bool:
    """Remove (with ``dry_run``: list) what a stopped deletion left of ``experiment``,
    which has no stored run, in the first of ``roots`` holding a store where it left
    something; print what was removed. False when no folder was (would be) removed."""
    from crystallize.exceptions import StoreError
    from crystallize.store import delete_runs

    for where in roots:
        if not has_store(where):
            continue
        try:  # refused (StoreError) when there is nothing of the experiment there
            left = delete_runs(where, experiment, keep_last=0, dry_run=dry_run)
        except StoreError:
            continue
        if left.artifact_dirs:
            print_leftovers(left, experiment, dry_run)
        return bool(left.artifact_dirs)
    return False


def print_leftovers(left: DeletedRuns, experiment: str, dry_run: bool) -> None:
    """Say which ``v<N>`` folders no stored run uses were (would be) removed."""
    folders = ", ".join(display(p) for p in left.artifact_dirs)
    print(printable(
        f"{'Would remove' if dry_run else 'Removed'} {len(left.artifact_dirs)} artifact folder(s) of "
        f"'{experiment}' that no stored run uses (left behind when a deletion or run was stopped), "
        f"{format_bytes(left.artifact_bytes)}: {folders}"
    ))


def print_plan(plan: DeletedRuns, where: Path) -> None:
    """List the runs and artifact folders ``plan`` (a dry run of delete_runs) would delete."""
    print(printable(f"To delete from {display(where)}:"))
    stdout_console().print(runs_table(list(plan.runs)), crop=False)
    if plan.artifact_dirs:
        folders = ", ".join(display(p) for p in plan.artifact_dirs)
        print(printable(f"and their artifact folder(s) ({format_bytes(plan.artifact_bytes)}): {folders}"))
    if plan.kept_dirs:
        folders = ", ".join(display(p) for p in plan.kept_dirs)
        print(printable(
            f"Kept, though no stored run names them: {folders} (a run stored by an older "
            "Crystallize, which did not record its artifact folder, may use them)"
        ))
    note = unrecorded_note(plan, where)
    if note:
        print(printable(note))


def unrecorded_note(plan: DeletedRuns, where: Path) -> str:
    """What is said of the runs in ``plan`` stored before Crystallize recorded their
    artifact folder (``artifact_version`` unknown): their files are not deleted with them
    (see :mod:`crystallize.store.maintenance`). ``""`` when there are none, or when
    their experiment has no folder under ``where``."""
    from crystallize.store.artifacts import version_dir

    old = [run for run in plan.runs if run.artifact_version is None]
    if not old:
        return ""
    try:
        folder = version_dir(where, old[0].experiment, 0).parent
    except ValueError:  # a name that cannot be a folder never had one
        return ""
    if not folder.is_dir():
        return ""
    return (
        f"{len(old)} run(s) stored by an older Crystallize had no recorded artifact folder; "
        f"their files, if any, stay under {display(folder)}/"
    )


def parse_statuses(values: list[str]) -> list[str]:
    """``--status`` values (repeated or ``a,b``), checked against the finished run statuses.

    Raises:
        UserError: an unknown status, with a close match.
    """
    from crystallize.store import RUN_STATUSES

    choices = [s for s in RUN_STATUSES if s != "running"]  # a running run is never deleted
    statuses = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for value in statuses:
        if value not in choices:
            raise UserError(f"unknown status '{value}'.{suggest(value, choices)}{known(choices, 'statuses')}")
    return statuses


def selected_runs(experiment: ExperimentArg, run_ids: list[str], root: str | None) -> tuple[Path, list[str] | None]:
    """The store holding ``experiment``'s runs and the full ids of ``run_ids`` (``None``
    when none are given: every run of the experiment; ``[]`` when it has none yet).

    Raises:
        UserError: an unknown or ambiguous id, another experiment's run, or no runs.
    """
    if not run_ids:
        where, runs = runs_of(experiment, root, limit=1, none_ok=True)
        return where, (None if runs else [])
    found = [resolve_run(experiment, run_id, root) for run_id in run_ids]
    where = found[0][0]
    if any(path.resolve() != where.resolve() for path, _ in found):
        raise UserError(f"the runs given are in different stores ({', '.join(sorted({display(p) for p, _ in found}))}); "
                        "delete them one store at a time with --root DIR")
    return where, [info.run_id for _, info in found]


def confirm(question: str) -> bool:
    """Ask ``question`` (yes/no, default no) on stdout and read the answer from stdin; an
    answer that is neither is said on stderr, and the question asked again.

    Raises:
        UserError: stdin is closed or at its end, so nobody can answer.
        KeyboardInterrupt: Ctrl+C instead of an answer.
    """
    no_answer = UserError("no answer to the question (stdin is closed); add --yes to delete without asking")
    if sys.stdin is None or sys.stdin.closed:  # started with stdin closed (0<&-): input() cannot ask
        print(question)
        raise no_answer
    while True:
        try:
            answer = input(f"{question} [y/N]: ").strip()
        except (EOFError, KeyboardInterrupt) as exc:
            print()  # ends the question's line
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise no_answer from None
        if answer.lower() in ("y", "yes", "n", "no", ""):
            return answer.lower() in ("y", "yes")
        print(printable(f"Error: {answer!r} is not an answer; type y (yes) or n (no)."), file=sys.stderr)


def compact_after_delete(where: Path) -> int:
    """Compact the store after a delete; when that is refused (a run is going), say how to
    do it later and return 0."""
    from crystallize.exceptions import StoreError
    from crystallize.store import compact

    try:
        return compact(where)
    except StoreError as exc:
        print(printable(f"The store file was not compacted: {exc} Later: crystallize compact --root {display(where)}"),
              file=sys.stderr)
        return 0


def format_bytes(count: int) -> str:
    """``512 B``, ``3.4 KB``, ``17.6 MB``, ``2.1 GB`` (powers of 1000)."""
    if count < 1000:
        return f"{count} B"
    value, units = count / 1000, ["KB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1000, units[1:]
    return f"{value:.1f} {units[0]}"


__all__ = [
    "clear_leftovers",
    "compact_after_delete",
    "compact_command",
    "confirm",
    "delete_command",
    "format_bytes",
    "interrupted_deletion",
    "parse_statuses",
    "print_leftovers",
    "print_plan",
    "selected_runs",
    "unrecorded_note",
]
