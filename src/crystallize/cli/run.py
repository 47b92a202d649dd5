"""``crystallize run``: run an experiment (or a graph) with live progress, then report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from crystallize.cli.app import command_help
from crystallize.cli.errors import (
    EXIT_FAILED,
    UserError,
    interrupted,
    output_failure,
    output_failure_message,
)
from crystallize.cli.events import EventEcho
from crystallize.cli.overrides import (
    EXECUTORS,
    RunSettings,
    apply_settings,
    parse_assignments,
    select_treatments,
)
from crystallize.cli.plugin_settings import unknown_choice
from crystallize.cli.progress import RunProgress
from crystallize.cli.shell import command_line
from crystallize.cli.targets import Target, data_root, display, resolve_target, stdout_to_stderr
from crystallize.cli.text import printable

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.result import Result
    from crystallize.store import RunInProgressError
    from crystallize.treatment import Treatment


#: ``--strategy`` choices.
STRATEGIES = ("rerun", "resume")


def checked_choice(option: str, what: str, value: str | None, choices: Sequence[str]) -> str | None:
    """``value`` when it is one of ``choices`` (or ``None``); else a :class:`UserError`
    in the words of ``--set``'s (``--executor: unknown executor 'foo'. Did you mean ...?
    Use one of: ...``), not the parser's. Checked before any experiment is loaded."""
    if value is None or value in choices:
        return value
    raise UserError(f"{option}: {unknown_choice(what, value, choices)}")


@command_help(
    """Run an experiment or graph with a live progress bar, then print its report.

    Exit code 0 when every replicate succeeded; 1 when some failed, or the run's records
    or its report could not all be written (the message says what is stored); 2 when the
    run could not start or its config is wrong (a hypothesis names a metric no condition
    recorded: the run is stored, the message gives its id); 130 when interrupted with
    Ctrl+C (143 with SIGTERM, 129 with SIGHUP).
    """
)
def run_command(
    name_or_path: str = typer.Argument(..., help="An experiment name, or its folder / config.yaml."),
    replicates: int | None = typer.Option(None, "--replicates", "-n", min=1, help="Replicates per condition for this run."),
    treatment: list[str] | None = typer.Option(
        None, "--treatment", "-t", help="Run only this treatment (repeat for several); the baseline always runs."
    ),
    set_values: list[str] | None = typer.Option(
        None, "--set", "-s", metavar="KEY=VALUE",
        help="Override a value for this run (YAML scalar): a context key, treatments.T.KEY, replicates, seed, plugins.*.",
    ),
    strategy: str = typer.Option(
        "rerun", "--strategy", metavar=f"<{'|'.join(STRATEGIES)}>",
        help="rerun computes everything; resume continues the latest matching run.",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compute every step (ignore the step cache)."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Parallel workers."),
    executor: str | None = typer.Option(
        None, "--executor", metavar=f"<{'|'.join(EXECUTORS)}>", help="How replicates are scheduled."
    ),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (implies --executor ray)."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Base seed for this run."),
    json_output: bool = typer.Option(False, "--json", help="Print only the result as JSON on stdout."),
) -> None:
    checked_choice("--strategy", "strategy", strategy, STRATEGIES)
    checked_choice("--executor", "executor", executor, EXECUTORS)
    settings = RunSettings(
        assignments=parse_assignments(set_values or []),
        replicates=replicates,
        seed=seed,
        executor=executor,
        workers=workers,
        address=address,
        no_cache=no_cache,
    )
    with stdout_to_stderr(json_output):  # importing the folders may print
        target = resolve_target(name_or_path)
        apply_settings(target.experiments, settings)
        selected = select_treatments(target.experiment, treatment or [])
    resume = resume_hint(
        name_or_path,
        [
            ("-n", replicates), *(("-t", t) for t in treatment or []), *(("--set", v) for v in set_values or []),
            ("--seed", seed), ("--executor", settings.executor), ("--workers", workers), ("--address", address),
            ("--no-cache", no_cache), ("--json", json_output),
        ],
    )
    results = execute(target, name_or_path, selected, strategy, json_output, resume)
    failed = sum(len(r.errors) for r in results.values())
    try:
        if json_output:
            print_json(results, target)
        else:
            print_reports(results, {e.name: root_of(e) for e in target.experiments})
        unwritten = output_failure()  # flushes what was printed
    except KeyboardInterrupt:
        raise interrupted(f"Interrupted while the results were printed; {stored_runs(results, target, name_or_path)}") from None
    unstored = {name: r for name, r in results.items() if r.info.get("store_error")}
    for name, result in unstored.items():
        print(
            printable(
                f"Error: the records of run {result.run_id} ({name}) could not all be written to "
                f"{root_of_name(target, name)}: {result.info['store_error']}. {_stored_status(result)}"
                "the results printed above are the only copy."
            ),
            file=sys.stderr,
        )
    if failed:
        where = "the result's errors" if json_output else "the report"
        print(f"{failed} replicate(s) failed; see {where}.", file=sys.stderr)
        print_tracebacks_hints(results, target, name_or_path)
    if unwritten is not None:  # the report or JSON is lost, not the run
        print(printable(output_failure_message(unwritten, stored_runs(results, target, name_or_path))), file=sys.stderr)
    if failed or unstored or unwritten:
        raise typer.Exit(EXIT_FAILED)


def execute(
    target: Target, name_or_path: str, selected: list[Treatment] | None, strategy: str, json_output: bool,
    resume: str,
) -> dict[str, Result]:
    """Run every experiment of ``target`` (upstream first) with progress; return the Results.

    Interrupted, it says what is kept and how to finish the run (the command ``resume``).
    """
    from rich.console import Console

    from crystallize.exceptions import MissingMetricError
    from crystallize.store import RunInProgressError

    progress = RunProgress(Console(stderr=json_output, highlight=False))
    results: dict[str, Result] = {}
    current = target.experiment
    try:
        with stdout_to_stderr(json_output):
            for experiment in target.experiments:
                current = experiment
                chosen = selected if experiment is target.experiment else None
                results[experiment.name] = run_with_progress(experiment, chosen, strategy, progress)
    except MissingMetricError as exc:
        raise stored_run_error(exc, current, given_as(current, target, name_or_path)) from exc
    except RunInProgressError as exc:
        raise resume_refused(exc) from exc
    except KeyboardInterrupt:
        raise interrupted(
            f"Interrupted: the replicates of '{current.name}' that finished are kept in the store, "
            f"and the run is marked cancelled (see: {history_hint('runs', current, given_as(current, target, name_or_path))}). "
            f"Finish it with: {resume}"
        ) from None
    return results


def resume_hint(name_or_path: str, options: Sequence[tuple[str, object]]) -> str:
    """The command finishing an interrupted run: ``crystallize run NAME --strategy resume``
    and the run's ``(option, value)`` pairs, quoted for this platform's shell (see
    :func:`~crystallize.cli.shell.command_line`; a value ``True`` is a flag;
    ``None`` and ``False`` leave the option out)."""
    words = ["crystallize", "run", name_or_path, "--strategy", "resume"]
    for option, value in options:
        if value is None or value is False:
            continue
        words += [option] if value is True else [option, str(value)]
    return command_line(words)


def given_as(experiment: Experiment, target: Target, name_or_path: str) -> str:
    """How a hint names ``experiment``: as the command was given it for the experiment
    run, by name for the experiments upstream of it."""
    return name_or_path if experiment is target.experiment else experiment.name


def history_hint(verb: str, experiment: Experiment, given: str, *args: str) -> str:
    """``crystallize VERB GIVEN ARGS`` finding ``experiment``'s runs: with ``--root`` when
    its store is not where ``given`` leads (moved by ``--set plugins.artifacts.root_dir=``)."""
    from crystallize.cli.history import experiment_arg, hint_root, history_command
    from crystallize.exceptions import ConfigError

    where = data_root(experiment)
    try:
        root = hint_root(experiment_arg(given), where)
    except (UserError, ConfigError):  # the folder cannot be read now: name the store
        root = where
    return history_command(verb, given, *args, root=root)


def print_tracebacks_hints(results: dict[str, Result], target: Target, name_or_path: str) -> None:
    """For each stored run with failed replicates, the command showing their tracebacks
    (on stderr; the experiment run is named as it was given)."""
    experiments = {e.name: e for e in target.experiments}
    for name, result in results.items():
        if result.errors and result.run_id and not result.info.get("store_error"):
            experiment = experiments[name]
            command = history_hint(
                "show", experiment, given_as(experiment, target, name_or_path), "--run", result.run_id, "--tracebacks"
            )
            print(printable(f"See their tracebacks with: {command}"), file=sys.stderr)


def stored_runs(results: dict[str, Result], target: Target, name_or_path: str) -> str:
    """Where each of ``results`` (runs that finished) is stored, for a message:
    ``NAME is stored as completed: see it with: crystallize show NAME --run ID``."""
    experiments = {e.name: e for e in target.experiments}
    shown = []
    for name, r in results.items():
        experiment = experiments[name]
        given = given_as(experiment, target, name_or_path)
        if r.info.get("store_error"):
            shown.append(f"{name} could not be stored completely ({r.info['store_error']}); see: "
                         f"{history_hint('runs', experiment, given)}")
        else:
            shown.append(f"{name} is stored as completed: see it with: {history_hint('show', experiment, given, '--run', r.run_id)}")
    return "; ".join(shown) + "."


def _stored_status(result: Result) -> str:
    """How the store will show a run whose records could not all be written."""
    error = result.info.get("store_error", "")
    if error.startswith("the run store "):  # deleted or replaced during the run
        return "Nothing of it is in the store; "
    if "final status" in error:
        return "Its final status could not be stored either (it shows as interrupted once found dead); "
    return "The run is marked failed; "


def resume_refused(exc: RunInProgressError) -> UserError:
    """``--strategy resume`` met a run still going in another process: the library's
    error in the command's words (``--strategy rerun``, not ``strategy='rerun'``)."""
    from crystallize.store.liveness import stop_hint

    run = exc.run
    return UserError(
        f"Cannot resume run {run.run_id} of '{run.experiment}': it is still running in process "
        f"{run.pid} on {run.hostname}, and resuming it now would compute its missing replicates "
        f"a second time. Wait for it to finish, or stop that process ({stop_hint(run.pid)}), then "
        "resume; or start a new run with --strategy rerun."
    )


def stored_run_error(exc: BaseException, experiment: Experiment | None = None, given: str | None = None) -> UserError:
    """An error raised after the run was stored (e.g. a hypothesis' missing metric), plus
    where the run was stored (``exc.result``): the ``show`` command names the experiment
    as ``given`` (and its store, see :func:`history_hint`) when ``experiment`` is known.

    The engine raises such errors after every replicate ran and the run was stored; the
    user needs the run id to look at what was recorded instead of running again.
    """
    result = getattr(exc, "result", None)
    run_id = getattr(result, "run_id", None)
    if run_id is None:
        return UserError(str(exc))
    if experiment is not None:
        show = history_hint("show", experiment, given or experiment.name, "--run", run_id)
    else:
        show = command_line(["crystallize", "show", result.experiment, "--run", run_id])  # type: ignore[union-attr]
    return UserError(f"{exc} The run is stored as {run_id}; see what it recorded with: {show}")


def run_with_progress(
    experiment: Experiment,
    treatments: Sequence[Treatment] | None,
    strategy: str,
    progress: RunProgress,
) -> Result:
    """Stream one run through ``progress`` and return its Result."""
    chosen = list(treatments) if treatments is not None else experiment.treatments
    conditions = ["baseline", *[t.name for t in chosen]]
    echo = EventEcho(progress.console)
    experiment.plugins.append(echo)  # ctx.emit events show while the run goes
    try:
        from crystallize.engine import display_stream

        with progress.track(experiment.name, conditions, experiment.replicates) as tracker:
            # replicates resumed from the store count as done once they are known
            stream = display_stream(experiment, treatments, strategy, on_resumed=tracker.resume)
            for record in stream:
                tracker.advance(record)
            tracker.finish(stream.result)
    finally:
        experiment.plugins.remove(echo)
    assert stream.result is not None
    return stream.result


def summary_line(result: Result, root: str | None = None) -> str:
    """``Run abc · 60 record(s) (60 computed, 0 resumed) · 12 cache hit(s) · 0 error(s) ·
    stored in data`` (the cache part only when steps hit the cache)."""
    info = result.info
    parts = [f"Run {result.run_id}" if result.run_id else "Run (not stored)"]
    counts = f"{len(result.records)} record(s)"
    if "computed" in info:
        counts += f" ({info.get('computed', 0)} computed, {info.get('resumed', 0)} resumed)"
    parts.append(counts)
    if info.get("cache_hits"):
        parts.append(f"{info['cache_hits']} cache hit(s)")
    parts.append(f"{len(result.errors)} error(s)")
    if info.get("store_error"):
        parts.append("NOT stored (see the error below)")
    elif root and result.run_id:  # no run id: the experiment has no store (root_dir: null)
        parts.append(f"stored in {root}")
    return " · ".join(parts)


def print_reports(results: dict[str, Result], roots: dict[str, str] | None = None) -> None:
    """Each result's report and a one-line summary, on stdout (made :func:`printable`:
    reports quote names and exception messages)."""
    for i, (name, result) in enumerate(results.items()):
        if i:
            print()
        if len(results) > 1:
            print(printable(f"== {name} =="))
        print(printable(result.report().rstrip()))
        print(printable(summary_line(result, (roots or {}).get(name))))


def print_json(results: dict[str, Result], target: Target) -> None:
    """The result (or, for a graph, ``{name: result}``) as strict JSON on stdout: what
    ``to_json()`` holds, with NaN and ±inf written as ``null`` so any parser reads it."""
    from crystallize.store.serialize import strict_dumps

    if target.graph is None:
        print(strict_dumps(results[target.name].to_dict()))
        return
    print(strict_dumps({name: result.to_dict() for name, result in results.items()}))


def root_of(experiment: Experiment) -> str:
    """The experiment's store directory, for messages."""
    return display(data_root(experiment))


def root_of_name(target: Target, name: str) -> str:
    """The store directory of ``target``'s experiment called ``name``, for messages."""
    return next(root_of(e) for e in target.experiments if e.name == name)


__all__ = [
    "execute",
    "print_json",
    "print_reports",
    "print_tracebacks_hints",
    "resume_hint",
    "resume_refused",
    "run_command",
    "run_with_progress",
    "stored_run_error",
    "stored_runs",
    "summary_line",
]
