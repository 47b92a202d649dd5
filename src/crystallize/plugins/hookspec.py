"""Every plugin hook, declared and documented once.

Hooks run in one of two places:

* **driver** hooks run once, in the process that called ``experiment.run()``, whatever
  the executor: ``init_hook``, ``before_run``, ``on_replicate_end``, ``on_event``,
  ``after_run`` and, for execution plugins, ``run_experiment_loop``.
* **worker** hooks run wherever a replicate runs — the driver for serial, thread and
  async execution, a worker process for process and Ray execution: ``before_replicate``,
  ``before_step`` and ``after_step``. Plugins travel to worker processes by pickling, so
  state a worker hook changes there is not seen by the driver; send information back
  through the context (``ctx.record``, ``ctx.emit``) instead. Plugins without worker
  hooks are not sent to workers at all, so they need not be picklable.

Every hook is optional; the base class implements each one as a no-op. Return values
are ignored except for ``run_experiment_loop``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import FunctionType
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import PluginError

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.pipeline_step import PipelineStep
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result
    from crystallize.utils.context import FrozenContext


class BasePlugin:
    """Base class of all plugins; override only the hooks you need.

    Hook names and signatures are checked when a plugin is created, so a misspelled
    hook (``before_replicates``) fails at construction instead of silently never running.
    """

    # -- lifecycle: construction (driver) ---------------------------------------------
    def init_hook(self, experiment: Experiment) -> None:
        """Driver. Called once when the plugin is attached to ``experiment``."""

    # -- lifecycle: one run (driver) -------------------------------------------------
    def before_run(self, experiment: Experiment) -> None:
        """Driver. Called at the start of every ``run()``, before any replicate."""

    def after_run(self, experiment: Experiment, result: Result) -> None:
        """Driver. Called at the end of every ``run()`` with the finished Result."""

    def on_replicate_end(self, experiment: Experiment, record: ReplicateRecord) -> None:
        """Driver. Called for each (condition, replicate) record as it arrives."""

    def on_event(
        self, experiment: Experiment, ctx: FrozenContext, event: str, payload: dict[str, Any]
    ) -> None:
        """Driver. Called for each ``ctx.emit(event, **payload)`` made inside a replicate.

        ``ctx`` is a read-only snapshot of that replicate's context.
        """

    # -- lifecycle: one replicate (worker) ---------------------------------------------
    def before_replicate(self, experiment: Experiment, ctx: FrozenContext) -> None:
        """Worker. Called before the datasource of each (condition, replicate) runs."""

    def before_step(self, experiment: Experiment, step: PipelineStep) -> None:
        """Worker. Called before each step runs."""

    def after_step(
        self, experiment: Experiment, step: PipelineStep, data: Any, ctx: FrozenContext
    ) -> None:
        """Worker. Called after each step with its output ``data`` and the context."""

    # -- execution (driver) ------------------------------------------------------------
    def run_experiment_loop(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any]
    ) -> Iterable[Any] | None:
        """Driver. Execution plugins run ``replicate_fn(rep)`` for every replicate index.

        ``replicate_fn(rep)`` runs every condition of replicate ``rep`` and returns their
        records. Return the results (one per replicate) or ``None`` when the plugin does
        not execute replicates.
        """
        return None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_hooks(cls)

    def __repr__(self) -> str:
        params = getattr(self, "__dict__", {})
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if not k.startswith("_"))
        return f"{type(self).__name__}({shown})"


HOOK_NAMES = tuple(
    name
    for name, member in vars(BasePlugin).items()
    if isinstance(member, FunctionType) and not name.startswith("_")
)
_HOOK_PREFIXES = ("before_", "after_", "on_", "init_")
_VARARGS = 0x04  # CO_VARARGS


def check_hooks(cls: type) -> None:
    """Raise :class:`PluginError` for a misspelled hook or a hook with the wrong arity."""
    for name, member in vars(cls).items():
        if not isinstance(member, FunctionType):
            continue
        if name in HOOK_NAMES:
            # Arity from the code objects (cheaper than inspect, which would be imported
            # by every `import crystallize` for the built-in plugins).
            spec = getattr(BasePlugin, name).__code__
            code = member.__code__
            if code.co_flags & _VARARGS:
                continue
            expected = spec.co_argcount
            positional = code.co_argcount
            required = positional - len(member.__defaults__ or ())
            if not (required <= expected <= positional):
                hook_args = ", ".join(spec.co_varnames[: spec.co_argcount])
                raise PluginError(
                    f"{cls.__name__}.{name} takes {positional} positional parameters "
                    f"(including self) but the hook passes {expected}: {name}({hook_args})"
                )
        elif name.startswith(_HOOK_PREFIXES):
            raise PluginError(
                f"{cls.__name__}.{name} looks like a plugin hook but no hook has that name; "
                f"known hooks: {', '.join(HOOK_NAMES)}. Rename it, or prefix it with '_' if "
                "it is a helper."
            )


WORKER_HOOKS = ("before_replicate", "before_step", "after_step")


def has_worker_hooks(plugin: BasePlugin) -> bool:
    """True when ``plugin`` implements a hook that runs where replicates run."""
    return any(overrides(plugin, hook) for hook in WORKER_HOOKS)


def overrides(plugin: BasePlugin, hook: str) -> bool:
    """True when ``plugin`` implements ``hook`` with something other than the no-op."""
    return getattr(type(plugin), hook, None) is not getattr(BasePlugin, hook)


__all__ = ["HOOK_NAMES", "WORKER_HOOKS", "BasePlugin", "check_hooks", "has_worker_hooks", "overrides"]
