"""What the screens show and change, without any textual code.

Loading experiments and graphs by their config path, the last run of an experiment,
the ``config.state.json`` switches (step caching, disabled treatments; a switch that
cannot be saved raises :class:`SwitchRefused`), the run
strategy that follows from caching, and the editor command.
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crystallize.cli.shell import split_command
from crystallize.cli.targets import data_root, display
from crystallize.exceptions import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from crystallize.config import ExperimentGraph, ExperimentState
    from crystallize.experiment import Experiment
    from crystallize.result import Result
    from crystallize.store import RunInfo

EDITOR_VARIABLES = ("CRYSTALLIZE_EDITOR", "EDITOR", "VISUAL")


# -- loading ------------------------------------------------------------------------------------
def load_experiments(config_path: str | Path, as_graph: bool) -> tuple[list[Experiment], ExperimentGraph | None]:
    """Load (afresh) the experiment at ``config_path``, or its whole graph.

    Returns:
        The experiments in run order and the graph (``None`` for a single experiment).
    """
    from crystallize.config import ExperimentGraph
    from crystallize.experiment import Experiment

    if as_graph:
        graph = ExperimentGraph.from_yaml(config_path)
        return list(graph), graph
    return [Experiment.from_yaml(config_path)], None


def failed_file(exc: BaseException) -> Path | None:
    """The file a config error is about: the innermost ``file`` along ``exc`` and its
    causes (a graph's error wraps the upstream experiment's), ``None`` when none says."""
    found: Path | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        file = getattr(current, "file", None)
        if isinstance(file, str | Path):
            found = Path(file)
        current = current.__cause__
    return found


def folder_of(experiment: Experiment) -> Path | None:
    """The experiment's folder (``None`` for experiments built in code)."""
    config = getattr(experiment, "config_path", None)
    return Path(config).parent if config is not None else None


def config_text(experiment: Experiment) -> str:
    """The text of the experiment's ``config.yaml`` (empty when there is none)."""
    config = getattr(experiment, "config_path", None)
    if config is None:
        return ""
    try:
        return Path(config).read_text(encoding="utf-8")
    except OSError as exc:
        return f"# cannot read {display(config)}: {exc}"


# -- the store -----------------------------------------------------------------------------------
def last_run(experiment: Experiment) -> tuple[Path, RunInfo] | None:
    """The newest stored run of ``experiment`` and its data directory (``None``: no run yet)."""
    from crystallize.cli.history import has_store
    from crystallize.store import list_runs

    root = data_root(experiment)
    if not has_store(root):
        return None
    runs = list_runs(root, experiment.name, limit=1)
    return (root, runs[0]) if runs else None


def last_run_summary(experiment: Experiment) -> str:
    """One or two lines about the newest stored run (status, records, errors, verdicts)."""
    try:
        found = last_run(experiment)
    except Exception as exc:  # a broken store must not break browsing
        return f"cannot read the run store: {exc}"
    if found is None:
        return "no runs yet"
    _, run = found
    line = f"{run.run_id} · {run_facts(run)}"
    verdicts = [hypothesis_verdict(hyp) for hyp in (run.summary or {}).get("hypotheses", []) or [] if isinstance(hyp, dict)]
    return line + ("\n" + "; ".join(verdicts) if verdicts else "")


def hypothesis_verdict(hyp: dict[str, Any]) -> str:
    """``h: 1/3 significant`` for a stored hypothesis result (``HypothesisResult.to_dict()``).

    Failures are not counted as "not significant": ``h: error`` when the hypothesis could
    not be verified at all (its ``error``, e.g. every replicate failed), and ``, 1 error(s)``
    after the count for treatments whose comparison failed (a NaN metric, a verifier that
    raised), as the summary's ``verdict: error`` rows have them. A treatment is significant
    when the verdicts of its metrics all say so.
    """
    from crystallize.hypothesis import HypothesisResult
    from crystallize.reporting import metric_entries

    name = hyp.get("name")
    if hyp.get("error"):
        return f"{name}: error"
    results = {t: r for t, r in (hyp.get("results") or {}).items() if isinstance(r, dict)}
    shape = HypothesisResult(str(name), {}, [], {}, list(hyp.get("metrics") or []), None)
    failed = sum(1 for r in results.values() if "error" in r)
    good = 0
    for output in results.values():
        flags = [entry.get("significant") for _, entry in metric_entries(shape, output)] if "error" not in output else []
        good += bool(flags) and all(flags)
    return f"{name}: {good}/{len(results)} significant" + (f", {failed} error(s)" if failed else "")


def run_facts(run: RunInfo) -> str:
    """``cancelled · started 2025-01-02 10:00:00 · 7 record(s) · 0 error(s)``, as
    ``crystallize show`` words a run."""
    from crystallize.cli.history import error_count, format_time

    errors = error_count(run)
    return (
        f"{run.status} · started {format_time(run.started_at)} · {run.n_records} record(s) · "
        f"{'?' if errors is None else errors} error(s)"
    )


def stored_run_facts(experiment: Experiment, run_id: str | None) -> str:
    """:func:`run_facts` of the stored run ``run_id`` of ``experiment`` (``""`` when not stored)."""
    from crystallize.cli.history import has_store
    from crystallize.store.opening import open_existing_store

    root = data_root(experiment)
    if not run_id or not has_store(root):
        return ""
    try:
        with open_existing_store(root) as store:
            return run_facts(store.get_run(run_id))
    except Exception:  # a broken store must not break the summary
        return ""


def last_result(experiment: Experiment) -> Result | None:
    """The newest stored run of ``experiment`` as a Result (``None``: no run yet)."""
    from crystallize.store import load_result

    found = last_run(experiment)
    return load_result(found[1].run_id, found[0]) if found is not None else None


def artifacts_summary(experiment: Experiment, result: Result) -> str:
    """Where the run's artifacts are and how many files of each name it wrote."""
    try:
        counts = artifact_counts(experiment, result)
    except StoreError as exc:  # a broken store must not break the summary
        return f"cannot count them: {exc}"
    location = getattr(experiment, "artifact_location", None)
    where = ""
    if location is not None:
        from crystallize.store import version_dir

        where = display(version_dir(location.root, location.experiment, location.version))
    if not counts:
        return f"no artifacts written{f' (directory: {where})' if where else ''}"
    files = ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))
    return f"{where}: {files}" if where else files


def artifact_counts(experiment: Experiment, result: Result) -> dict[str, int]:
    """``{artifact name: files written}`` of ``result``: counted in the run store when its
    records keep their steps there (a large run), else from the records in memory."""
    from crystallize.record import STEPS_IN_STORE

    records = result.records
    if result.run_id and records and records[0].steps is STEPS_IN_STORE:
        from crystallize.store.artifact_counts import stored_artifact_counts

        return stored_artifact_counts(data_root(experiment), result.run_id)
    counts: Counter[str] = Counter()
    for record in records:
        for step in record.steps:
            counts.update(step.artifacts)
    return counts


# -- state switches ------------------------------------------------------------------------------
def steps_of(experiment: Experiment) -> list[Any]:
    """The experiment's pipeline steps."""
    return list(experiment.pipeline.steps) if experiment.pipeline is not None else []


def all_cached(experiment: Experiment) -> bool:
    """True when every step is cacheable (and there is at least one step)."""
    steps = steps_of(experiment)
    return bool(steps) and all(getattr(s, "cacheable", False) for s in steps)


def strategy_for(experiment: Experiment) -> str:
    """``"resume"`` when caching is on for some step, else ``"rerun"``."""
    return "resume" if any(getattr(s, "cacheable", False) for s in steps_of(experiment)) else "rerun"


class SwitchRefused(Exception):
    """A switch cannot be saved in ``config.state.json``; the message names the file and why."""


def toggle_step_cache(experiment: Experiment, step_name: str) -> bool:
    """Flip caching of step ``step_name`` in ``config.state.json``; return the new setting."""
    step = next(s for s in steps_of(experiment) if s.name == step_name)

    def flip(state: ExperimentState) -> bool:
        state.cache[step_name] = not bool(getattr(step, "cacheable", False))
        return state.cache[step_name]

    return _change_state(experiment, flip)


def toggle_experiment_cache(experiment: Experiment) -> bool:
    """Turn caching on for every step (off when all were on); return the new setting."""

    def flip(state: ExperimentState) -> bool:
        state.cache_all = not all_cached(experiment)
        state.cache = {}
        return state.cache_all

    return _change_state(experiment, flip)


def toggle_treatment(experiment: Experiment, name: str) -> bool:
    """Enable or disable treatment ``name`` in ``config.state.json``; return True when enabled."""

    def flip(state: ExperimentState) -> bool:
        enabled = name in state.disabled_treatments
        if enabled:
            state.disabled_treatments = [t for t in state.disabled_treatments if t != name]
        else:
            state.disabled_treatments.append(name)
        return enabled

    return _change_state(experiment, flip)


def _change_state(experiment: Experiment, change: Callable[[ExperimentState], bool]) -> bool:
    """Read the experiment's ``config.state.json``, apply ``change``, write it back; return
    what ``change`` returns.

    Raises:
        SwitchRefused: the experiment has no folder (built in code) or its folder is gone
            (writing would create it again), or the file is malformed or cannot be written.
    """
    from crystallize.config import load_state, save_state
    from crystallize.config.state import state_path
    from crystallize.exceptions import ConfigError

    folder = folder_of(experiment)
    if folder is None:
        raise SwitchRefused(f"experiment '{experiment.name}' has no folder (it was built in code)")
    if not folder.is_dir():
        raise SwitchRefused(f"the folder {display(folder)} of '{experiment.name}' no longer exists")
    try:
        state = load_state(folder)
        changed = change(state)
        save_state(folder, state)
    except ConfigError as exc:  # a malformed file: say what is wrong, leave it as it is
        raise SwitchRefused(str(exc)) from exc
    except OSError as exc:
        raise SwitchRefused(f"cannot write {display(state_path(folder))}: {exc}") from exc
    return changed


# -- the editor ----------------------------------------------------------------------------------
def editor_command(path: str | Path) -> list[str] | None:
    """The command opening ``path`` in ``$CRYSTALLIZE_EDITOR``, ``$EDITOR`` or ``$VISUAL``
    (split as this platform's shell would: :func:`~crystallize.cli.shell.split_command`).

    Raises:
        ValueError: the variable's value does not split into a command (an unclosed quote).
    """
    for variable in EDITOR_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            try:
                words = split_command(value)
            except ValueError as exc:  # say, an unclosed quote
                raise ValueError(
                    f"${variable} is set to {value!r}, which is not a command ({exc}); fix its quoting"
                ) from None
            return [*words, str(path)]
    return None


def source_file(obj: Any) -> Path | None:
    """The file defining a step or datasource (``None`` when unknown)."""
    target = getattr(obj, "fn", None) or obj
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        target = type(target)
    try:
        found = inspect.getsourcefile(target)
    except TypeError:
        return None
    return Path(found) if found else None


__all__ = [
    "EDITOR_VARIABLES",
    "SwitchRefused",
    "all_cached",
    "artifact_counts",
    "artifacts_summary",
    "config_text",
    "editor_command",
    "failed_file",
    "folder_of",
    "hypothesis_verdict",
    "last_result",
    "last_run",
    "last_run_summary",
    "load_experiments",
    "run_facts",
    "source_file",
    "steps_of",
    "stored_run_facts",
    "strategy_for",
    "toggle_experiment_cache",
    "toggle_step_cache",
    "toggle_treatment",
]
