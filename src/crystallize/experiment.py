"""The Experiment: a datasource, a pipeline, treatments, hypotheses and plugins."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from crystallize.condition_names import shown_name
from crystallize.datasource import DataSource
from crystallize.exceptions import ExperimentValidationError, PicklingError
from crystallize.experiment_checks import (
    _NO_STEPS,
    MAX_REPLICATES,
    _as_count,
    _clause,
    _duplicates,
    _engine_key_problems,
    _hypothesis_problems,
    _initial_ctx_problem,
    _name_problems,
    _own_step_problems,
    _shadowed_values,
    _treatment_problems,
    too_many_replicates,
)
from crystallize.hypothesis import Hypothesis
from crystallize.pipeline import Pipeline, step_problems
from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.serial import SerialExecution
from crystallize.plugins.hookspec import BasePlugin, has_worker_hooks, overrides
from crystallize.plugins.logging import LoggingPlugin
from crystallize.plugins.seed import SeedPlugin
from crystallize.treatment import BASELINE, Treatment
from crystallize.unread_values import condition_unread_values
from crystallize.utils.callers import user_stacklevel
from crystallize.utils.text import exception_summary, function_label

if TYPE_CHECKING:
    from crystallize.builder import ExperimentBuilder
    from crystallize.engine import RunStream
    from crystallize.optimize import BaseOptimizer, OptimizationResult
    from crystallize.result import Result

P = TypeVar("P", bound=BasePlugin)
TreatmentLike = Treatment | str | Callable[..., Any]

#: The kinds every experiment has exactly one of, with the default used when missing.
_PLUGIN_KINDS: tuple[tuple[str, Callable[[BasePlugin], bool], Callable[[], BasePlugin]], ...] = (
    ("ArtifactPlugin", lambda p: isinstance(p, ArtifactPlugin), lambda: ArtifactPlugin(root_dir="data")),
    ("SeedPlugin", lambda p: isinstance(p, SeedPlugin), lambda: SeedPlugin(auto_seed=True)),
    ("LoggingPlugin", lambda p: isinstance(p, LoggingPlugin), lambda: LoggingPlugin(verbose=False)),
    ("execution plugin", lambda p: is_execution_plugin(p), SerialExecution),
)


def is_execution_plugin(plugin: BasePlugin) -> bool:
    """True for plugins that schedule replicates (they implement run_experiment_loop)."""
    return isinstance(plugin, ExecutionPlugin) or overrides(plugin, "run_experiment_loop")


def resolve_plugins(plugins: Iterable[BasePlugin] | None) -> list[BasePlugin]:
    """The user's plugins plus a default for every missing kind; one plugin per kind."""
    chosen: list[BasePlugin] = []
    for plugin in plugins or ():
        if not isinstance(plugin, BasePlugin):
            raise _not_a_plugin_error(plugin)
        if any(plugin is existing for existing in chosen):
            continue
        chosen.append(plugin)
    for kind, matches, default in _PLUGIN_KINDS:
        found = [p for p in chosen if matches(p)]
        if len(found) > 1:
            names = ", ".join(type(p).__name__ for p in found)
            raise ExperimentValidationError(
                f"An experiment takes exactly one {kind}, but {len(found)} were given ({names}). "
                "Keep one of them."
            )
        if not found:
            chosen.append(default())
    return chosen


def _not_a_plugin_error(plugin: object) -> TypeError:
    """The TypeError for something in ``plugins=`` that is not a BasePlugin instance:
    a plugin class (to instantiate) or an object of a class to base on BasePlugin."""
    if isinstance(plugin, type) and issubclass(plugin, BasePlugin):
        name = plugin.__name__
        return TypeError(
            f"plugins must be BasePlugin instances, got the class {name}. Did you pass the class "
            f"instead of an instance ({name} instead of {name}())?"
        )
    return TypeError(
        f"plugins must be BasePlugin instances, got {plugin!r} ({type(plugin).__name__}): a "
        "plugin's class must subclass crystallize.BasePlugin (class MyPlugin(BasePlugin): ...) "
        "so that its hooks are found and called."
    )


def _plugin_problems(plugins: Sequence[BasePlugin]) -> list[str]:
    """Why ``experiment.plugins``, changed after construction, is not one plugin per kind
    or holds something that is no plugin (the constructor's message, with its position)."""
    problems = [
        f"experiment.plugins[{index}]: {_not_a_plugin_error(plugin)}"
        for index, plugin in enumerate(plugins)
        if not isinstance(plugin, BasePlugin)
    ]
    plugins = [plugin for plugin in plugins if isinstance(plugin, BasePlugin)]
    for kind, matches, _ in _PLUGIN_KINDS:
        found = [type(p).__name__ for p in plugins if matches(p)]
        if len(found) != 1:
            problems.append(
                f"experiment.plugins must hold exactly one {kind}, but holds {len(found)}"
                f"{' (' + ', '.join(found) + ')' if found else ''}: replace the plugin in the "
                "list rather than appending or removing one, or build the experiment with "
                "plugins=[...] (missing kinds get their defaults there)"
            )
    return problems


def as_treatment(value: TreatmentLike, known: Sequence[Treatment] = ()) -> Treatment:
    """Accept a Treatment, the name of a known treatment, or a callable ``fn(ctx)``."""
    if isinstance(value, Treatment):
        return value
    if isinstance(value, str):
        for t in known:
            if t.name == value:
                return t
        names = ", ".join(t.name for t in known) or "none"
        raise ExperimentValidationError(f"Unknown treatment '{value}'; this experiment has: {names}")
    if callable(value):
        return Treatment(function_label(value, "treatment"), value)
    raise TypeError(f"Expected a Treatment, a treatment name or a callable fn(ctx), got {value!r}")


class Experiment:
    """An experiment: run the baseline and every treatment over seeded replicates.

    Args:
        datasource: a :class:`~crystallize.datasource.DataSource` (e.g. ``my_source()``).
        pipeline: a :class:`~crystallize.pipeline.Pipeline` (a list of steps, or one step,
            is accepted).
        plugins: plugins to use; each replaces the default of its kind (ArtifactPlugin,
            SeedPlugin, LoggingPlugin, execution). Defaults fill the missing kinds.
        initial_ctx: values every replicate's context starts with (resources made with
            :func:`~crystallize.resource_factory` are created once per worker). The engine
            sets ``replicate``, ``condition`` and ``seed_used`` itself.
        treatments: treatments compared with the baseline.
        hypotheses: hypotheses verified after all replicates.
        replicates: replicates per condition (any integral number, stored as an int).
        name: the experiment's name (runs are stored under it, so it must be usable as a
            directory name).
        description: a free-text description, kept with the experiment (a folder
            experiment's ``description:``) and shown in the terminal UI.

    ``plugins``, ``treatments`` and ``hypotheses`` take a list or a single item.

    Raises:
        TypeError: a part of the wrong type (``initial_ctx`` that is not a mapping, a
            dict of plugins, a non-string name, a pipeline item that is not a step).
    """

    #: Set on experiments loaded from ``config.yaml`` (see :mod:`crystallize.config`):
    #: the config file, CLI display options, declared outputs, the state file's content,
    #: every declared treatment (disabled ones included) and upstream experiment names.
    config_path: Any = None
    cli: Any = None
    outputs: Any = None
    state: Any = None
    declared_treatments: tuple[Any, ...] = ()
    upstream: tuple[str, ...] = ()
    #: Where the latest run writes its artifacts (set by the engine when a run starts).
    artifact_location: Any = None

    def __init__(
        self,
        datasource: DataSource | None = None,
        pipeline: Pipeline | Sequence[Any] | None = None,
        plugins: Iterable[BasePlugin] | BasePlugin | None = None,
        initial_ctx: Mapping[str, Any] | None = None,
        treatments: Iterable[TreatmentLike] | TreatmentLike | None = None,
        hypotheses: Iterable[Hypothesis] | Hypothesis | None = None,
        replicates: int = 1,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        if initial_ctx is not None and (problem := _initial_ctx_problem(initial_ctx)) is not None:
            raise TypeError(problem)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"The experiment name must be a string, got {type(name).__name__} {name!r}")
        self.datasource = datasource
        self.pipeline = pipeline
        self.initial_ctx: dict[str, Any] = dict(initial_ctx or {})
        self.treatments: list[Treatment] = [
            as_treatment(t) for t in as_list(treatments, "treatments", "[treatment('t', {...}), ...]")
        ]
        self.hypotheses: list[Hypothesis] = as_list(hypotheses, "hypotheses", "[my_hypothesis, ...]")
        self.replicates = _as_count(replicates)
        self.name = "experiment" if name is None else name  # "" is refused by validate()
        self.description = description
        self.plugins: list[BasePlugin] = resolve_plugins(as_list(plugins, "plugins", "[SeedPlugin(seed=1), ...]"))
        for plugin in self.plugins:
            try:
                plugin.init_hook(self)
            except Exception as exc:
                from crystallize.dispatch import hook_name
                from crystallize.utils.user_exceptions import add_note_safely

                add_note_safely(
                    exc, f"Raised by the plugin hook {hook_name(plugin.init_hook)} while the experiment was built."
                )
                raise

    @property
    def pipeline(self) -> Pipeline | None:
        """The experiment's :class:`~crystallize.pipeline.Pipeline` (``None`` until one
        is given). It may be assigned what the constructor's ``pipeline=`` takes: a
        Pipeline, or a list of steps (or one step), made into a Pipeline and checked as
        the constructor checks it."""
        return self.__dict__.get("pipeline")

    @pipeline.setter
    def pipeline(self, pipeline: Pipeline | Sequence[Any] | None) -> None:
        if pipeline is not None and not isinstance(pipeline, Pipeline):
            pipeline = Pipeline(pipeline)
        self.__dict__["pipeline"] = pipeline  # in __dict__: copies and pickles stay as they were

    # -- construction --------------------------------------------------------------------
    @classmethod
    def builder(cls, name: str | None = None) -> ExperimentBuilder:
        """A fluent builder: ``Experiment.builder().datasource(...).add_step(...).build()``."""
        from crystallize.builder import ExperimentBuilder

        return ExperimentBuilder(name)

    @classmethod
    def from_yaml(cls, path: Any) -> Experiment:
        """Build the folder experiment at ``path`` (a str or Path: its ``config.yaml`` or folder); see docs/config.md."""
        from crystallize.config.loader import load_experiment

        return load_experiment(path)

    # -- plugins -------------------------------------------------------------------------
    def get_plugin(self, plugin_type: type[P]) -> P | None:
        """Return the plugin that is an instance of ``plugin_type``, or ``None``."""
        for plugin in self.plugins:
            if isinstance(plugin, plugin_type):
                return plugin
        return None

    def worker_plugins(self) -> list[BasePlugin]:
        """The plugins sent to worker processes: those with worker hooks, plus the one of
        each standard kind (so ``get_plugin`` works there too). Driver-only plugins stay
        in the driver and need not be picklable."""
        return [
            p for p in self.plugins
            if has_worker_hooks(p) or any(matches(p) for _, matches, _ in _PLUGIN_KINDS)
        ]

    @property
    def execution_plugin(self) -> BasePlugin:
        """The plugin that schedules replicates."""
        for plugin in self.plugins:
            if is_execution_plugin(plugin):
                return plugin
        raise ExperimentValidationError(_plugin_problems(self.plugins)[0])

    # -- checks --------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the experiment can run; raise ExperimentValidationError naming what is wrong.

        :meth:`run` calls it before anything is stored, so a run that cannot work leaves
        no run behind. Every problem is reported at once. Checked: the datasource and
        pipeline, ``replicates``, the name (it becomes a directory), engine keys
        (``replicate``, ``condition``, ``seed_used``) set in ``initial_ctx`` or a
        treatment's values, treatment and hypothesis names (treatment names may not
        differ only by case: their folders would be one on macOS and Windows; nor only by
        Unicode normal form or surrounding whitespace, nor start or end with whitespace:
        they would look alike in every table), step swaps, and that every hypothesis is
        a :class:`Hypothesis`.

        What the constructor checks is checked again, for changes made since
        (``experiment.pipeline.steps.append(...)``, ``experiment.treatments.append(...)``,
        ``experiment.plugins.append(...)``): every step of the pipeline and of each
        treatment's ``pipeline``/``steps`` is a step (not an uncalled factory or a plain
        function), every treatment a :class:`~crystallize.treatment.Treatment`, every
        plugin a plugin instance (one per kind), ``initial_ctx`` a mapping; each problem
        names the item and its position.

        A ``@pipeline_step`` keyword parameter that nothing can ever supply — no
        default, not fixed when the step was built (``scale(factor=2)``), set neither in
        ``initial_ctx`` nor by a treatment's values, not an engine key, and with nothing
        in the condition that could add it to the context (a treatment function
        ``fn(ctx)``, a step or datasource doing more with ``ctx`` than reading it and
        recording metrics, a plugin hook defined outside crystallize, a resource
        factory) — is a ``UserWarning`` given before any datasource runs: that every
        replicate will fail with MissingParameterError when every condition that runs
        the step lacks it, else which conditions will (the baseline, while each treatment
        sets it); the run goes on, each replicate's failure kept in ``result.errors``
        (see :mod:`crystallize.parameter_sources`).

        A treatment value that a step's fixed parameter hides from every step is a
        ``UserWarning``, and so is one that nothing in its condition can read (see
        :func:`crystallize.unread_values.unread_values`).
        """
        self._validate(datasource_required=True)

    def _validate(self, datasource_required: bool) -> None:
        """:meth:`validate`; ``apply(data=...)`` runs without a datasource, so it may lack one."""
        from crystallize.parameter_sources import unsuppliable_parameters

        problems = []
        if self.datasource is None:
            if datasource_required:
                problems.append("no datasource (pass datasource=my_source() or use .datasource(...))")
        elif not hasattr(self.datasource, "fetch"):
            hint = ""
            if hasattr(self.datasource, "__crystallize_datasource__"):
                hint = f" — call the factory: {self.datasource.__name__}()"
            problems.append(f"datasource {self.datasource!r} has no fetch(ctx) method{hint}")
        base_problems = []
        if self.pipeline is None:
            problems.append("no pipeline (pass pipeline=Pipeline([...]) or use .add_step(...))")
        else:
            base_problems = [f"experiment.pipeline: {problem}" for problem in step_problems(self.pipeline.steps)]
            problems += base_problems
            if not base_problems and not self.pipeline.steps:
                what = "the pipeline (Pipeline([...]), the placeholder)" if getattr(self.pipeline, "placeholder", False) else "the pipeline"
                problems.append(_NO_STEPS.format(what=what))
        self.replicates = _as_count(self.replicates)
        if isinstance(self.replicates, bool) or not isinstance(self.replicates, int) or self.replicates < 1:
            problems.append(f"replicates must be a positive int, got {self.replicates!r}")
        elif self.replicates > MAX_REPLICATES:
            problems.append(too_many_replicates(self.replicates))
        problems += _name_problems(self.name)
        problems += _plugin_problems(self.plugins)
        initial_ctx_problem = _initial_ctx_problem(self.initial_ctx)
        if initial_ctx_problem is not None:
            problems.append(f"experiment.{initial_ctx_problem}")
        else:
            problems += _engine_key_problems("initial_ctx", self.initial_ctx)
        not_treatments = _treatment_problems(self.treatments)
        problems += not_treatments
        treatments = [t for t in self.treatments if isinstance(t, Treatment)]
        problems += _duplicates("treatment", [t.name for t in treatments])
        base_steps = self.pipeline.steps if self.pipeline is not None and not base_problems else None
        # The steps each condition runs, for the parameter check (None: a condition's
        # steps could not be known).
        conditions: list[tuple[str, Treatment | None, Sequence[Any]]] | None = (
            [(BASELINE, None, base_steps)] if base_steps is not None and not not_treatments else None
        )
        # The plugin hooks are looked at below: only when every plugin is one.
        plugins_ok = all(isinstance(plugin, BasePlugin) for plugin in self.plugins)
        shadowed: list[str] = []
        for t in treatments:
            if isinstance(t.values, Mapping):
                problems += _engine_key_problems(f"treatment '{t.name}'", t.values)
            own_problems = _own_step_problems(t)
            problems += own_problems
            if own_problems or (base_steps is None and t.pipeline is None):
                conditions = None
                continue
            try:
                steps = t.resolve_steps(base_steps or [])
            except ValueError as exc:
                problems.append(str(exc))
                conditions = None
            else:
                if not steps and t.pipeline is not None:
                    problems.append(_NO_STEPS.format(what=f"the pipeline of treatment '{t.name}'"))
                shadowed += _shadowed_values(t, steps)
                if plugins_ok and initial_ctx_problem is None:
                    shadowed += condition_unread_values(self, t, steps)
                if any(getattr(step, "_artifacts", ()) for step in steps):  # Artifact parameters
                    problems += _name_problems(t.name, "condition")  # its files go in <name>/
                if conditions is not None:
                    conditions.append((t.name, t, steps))
        not_hypotheses = _hypothesis_problems(self.hypotheses)
        problems += not_hypotheses
        if not not_hypotheses:
            problems += _duplicates("hypothesis", [h.name for h in self.hypotheses])
        if conditions is not None and plugins_ok and initial_ctx_problem is None:
            from crystallize.lifecycle import run_kind

            if run_kind() in ("apply", "debug") and len(conditions) > 1:
                conditions = conditions[1:]  # apply/debug(treatment=t) run t's condition alone
            # Warned, not refused: each replicate fails with MissingParameterError, kept
            # in result.errors as the contract has it; the warning comes before any runs.
            shadowed += unsuppliable_parameters(self, conditions)
        if problems:
            raise ExperimentValidationError(
                f"Experiment {shown_name(self.name)} is not valid: " + "; ".join(map(_clause, problems))
            )
        for message in shadowed:
            warnings.warn(message, UserWarning, stacklevel=user_stacklevel())

    # -- running -------------------------------------------------------------------------
    def run(
        self,
        treatments: Iterable[TreatmentLike] | None = None,
        hypotheses: Iterable[Hypothesis] | Hypothesis | None = None,
        replicates: int | None = None,
        strategy: str = "rerun",
        fail_fast: bool = False,
    ) -> Result:
        """Run the baseline and every treatment for ``replicates`` replicates each.

        Arguments given here replace the experiment's own for this run only. ``strategy``
        is ``"rerun"`` (compute everything) or ``"resume"`` (continue the latest matching
        run in the store, computing only missing or failed replicates). A step that
        raises fails only its replicate: the error is logged at once and kept in
        ``result.errors``. With ``fail_fast=True`` the first failure stops the run:
        nothing more is scheduled, finished replicates are kept, and
        :class:`~crystallize.exceptions.RunFailedError` is raised carrying the partial
        Result.
        """
        from crystallize.engine import run_experiment

        return run_experiment(self, treatments, _run_hypotheses(hypotheses), replicates, strategy, fail_fast)

    def stream(
        self,
        treatments: Iterable[TreatmentLike] | None = None,
        hypotheses: Iterable[Hypothesis] | Hypothesis | None = None,
        replicates: int | None = None,
        strategy: str = "rerun",
        fail_fast: bool = False,
    ) -> RunStream:
        """Like :meth:`run`, but iterate over records as each replicate finishes.

        Each item is a :class:`~crystallize.record.ReplicateRecord` (``condition``,
        ``replicate``, ``metrics``, ``error``), in completion order, under every
        executor. Breaking out of the loop cancels the replicates not yet started; the
        finished ones stay in the store. After a full iteration the returned stream's
        ``.result`` holds the Result::

            stream = experiment.stream(replicates=100)
            for record in stream:
                if record.error:
                    break
            print(stream.result)    # None when the loop was left early
        """
        from crystallize.engine import RunStream, iter_run

        return RunStream(iter_run(self, treatments, _run_hypotheses(hypotheses), replicates, strategy, fail_fast))

    def debug(
        self,
        treatment: TreatmentLike | None = None,
        replicate: int = 0,
        store: bool = False,
        console: Any = None,
    ) -> Any:
        """Run one replicate serially and verbosely; return its final data (when a step
        fails: the data the last step that succeeded returned, the failing step's input).

        Prints each step's input and output summary, duration, metrics and the context
        keys it added (and the traceback if a step fails). Nothing is written to the
        store unless ``store=True``, which stores a run of that one replicate (for an
        unversioned experiment it takes over ``v0``, as any run does).
        """
        from crystallize.debugging import debug_replicate

        return debug_replicate(self, _none_if_baseline(treatment), replicate, store, console)

    def optimize(
        self,
        optimizer: BaseOptimizer,
        num_trials: int | None,
        replicates_per_trial: int,
        metric: str | None = None,
        direction: str | None = None,
    ) -> OptimizationResult:
        """Search treatments with an ask/tell optimizer; each trial is a stored run.

        See :mod:`crystallize.optimize` (grid and random search built in, Optuna through
        ``OptunaOptimizer``). Returns the best treatment, its value and every trial.
        """
        from crystallize.optimize import optimize

        return optimize(self, optimizer, num_trials, replicates_per_trial, metric=metric, direction=direction)

    def apply(self, treatment: TreatmentLike | None = None, data: Any = None, seed: int | None = None) -> Any:
        """Run the pipeline exactly once and return the final data.

        ``treatment`` applies a treatment's values (baseline when omitted or
        ``"baseline"``); ``data`` replaces the datasource's output (the datasource is not
        called); ``seed`` is the seed handed to the SeedPlugin's ``seed_fn``. Every plugin
        hook runs, as in a one-replicate run of that condition: ``before_run``, ``before_replicate``,
        ``before_step``/``after_step``, ``on_replicate_end`` and ``after_run`` (with a
        :class:`~crystallize.result.Result` of the one record). Nothing is written to the
        run store. An exception in a step is raised once ``after_run`` has seen it.
        """
        from crystallize.engine import apply_once

        return apply_once(self, _none_if_baseline(treatment), data, seed, use_data=data is not None)

    # -- copying and pickling: the whole experiment; workers get only what they need --------
    def worker_copy(self) -> Experiment:
        """A shallow copy holding only what runs replicates, for the engine to send to
        worker processes: no hypotheses (the driver verifies them) and only
        :meth:`worker_plugins` (driver-only plugins need not be picklable)."""
        clone = self.__copy__()
        clone.hypotheses = []
        clone.plugins = self.worker_plugins()
        return clone

    def __copy__(self) -> Experiment:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Experiment:
        import copy  # lazy: import time

        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    def __getstate__(self) -> dict[str, Any]:
        """The whole experiment; a PicklingError naming the first plugin that cannot be
        pickled (pickle's own error would not say which)."""
        import pickle  # lazy: import time

        for plugin in self.plugins:
            try:
                pickle.dumps(plugin, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                raise PicklingError(
                    f"Experiment '{self.name}' cannot be pickled: its plugin {type(plugin).__name__} "
                    f"cannot be pickled ({exception_summary(exc)}). Leave what cannot be pickled "
                    "out of the plugin's state (define __getstate__ on it), or pickle a copy "
                    "without the plugin (clone = copy.copy(experiment); clone.plugins = [...])."
                ) from exc
        return self.__dict__

    def __repr__(self) -> str:
        return (
            f"Experiment(name={self.name!r}, treatments={[t.name for t in self.treatments]!r}, "
            f"replicates={self.replicates!r})"
        )


def as_list(value: Any, what: str, example: str) -> list[Any]:
    """``None`` as ``[]``, a single item as ``[item]``, a list (or other iterable) as a
    list. A string is one item (a treatment name), not a collection of them."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        raise TypeError(f"{what} must be a list, e.g. {what}={example}, got a dict {value!r}")
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _run_hypotheses(hypotheses: Any) -> list[Any] | None:
    """``run(hypotheses=...)`` as a list, so one hypothesis (or a mistake such as a
    string) reaches validate() whole; ``None`` keeps the experiment's."""
    return None if hypotheses is None else as_list(hypotheses, "hypotheses", "[my_hypothesis]")


def _none_if_baseline(treatment: TreatmentLike | None) -> TreatmentLike | None:
    """``"baseline"`` names the untreated condition, the same as no treatment."""
    return None if isinstance(treatment, str) and treatment == BASELINE else treatment


__all__ = ["MAX_REPLICATES", "Experiment", "as_treatment", "is_execution_plugin", "resolve_plugins"]
