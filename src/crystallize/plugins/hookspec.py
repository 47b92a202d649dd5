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
        """Driver. Called at the end of every ``run()`` with the finished Result, however
        the run ends: after a ``fail_fast`` stop or a stream left early with the partial
        Result, and when the run raised (a hypothesis, a hook, Ctrl+C) with what it had,
        its ``info["status"]`` saying how it ended (``failed``, ``cancelled``, or
        ``completed`` when only verifying the hypotheses raised)."""

    def on_replicate_end(self, experiment: Experiment, record: ReplicateRecord) -> None:
        """Driver. Called for each (condition, replicate) record as it arrives."""

    def on_event(
        self, experiment: Experiment, ctx: FrozenContext, event: str, payload: dict[str, Any]
    ) -> None:
        """Driver. Called for each ``ctx.emit(event, **payload)`` made inside a replicate.

        ``ctx`` is read-only and holds what the replicate started with: the initial
        context, its treatment's values, ``condition``, ``replicate`` and ``seed_used``.
        It is rebuilt in the driver, so values added later where the replicate runs are
        not in it; send what a plugin needs in the payload.
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
        records. Return the results (one per replicate, in any order), or ``None`` to
        leave the replicates to the default :class:`SerialExecution`. Each pending
        condition × replicate counts once: a record returned twice is ignored, and one
        never returned is recorded as failed (``ExecutorError``).
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
_COROUTINE = 0x80  # CO_COROUTINE
_ASYNC_GENERATOR = 0x200  # CO_ASYNC_GENERATOR


def check_hooks(cls: type) -> None:
    """Raise :class:`PluginError` for a misspelled hook, a hook with the wrong arity, or
    an ``async def`` hook.

    Hooks are checked wherever ``cls`` gets them from (its own body or a mixin); names
    that merely look like hooks are checked in the class's own body only (every
    subclass of :class:`BasePlugin` is checked when it is defined).
    """
    for name in HOOK_NAMES:
        owner, member = _defined_in(cls, name)
        if owner is not BasePlugin and isinstance(member, FunctionType):
            where = cls.__name__ + "." + name + ("" if owner is cls else f" (defined in {owner.__name__})")
            _check_hook(where, name, member)
    for name, member in vars(cls).items():
        if isinstance(member, FunctionType) and name not in HOOK_NAMES and name.startswith(_HOOK_PREFIXES):
            raise PluginError(
                f"{cls.__name__}.{name} looks like a plugin hook but no hook has that name; "
                f"known hooks: {', '.join(HOOK_NAMES)}. Rename it, or prefix it with '_' if "
                "it is a helper."
            )


def _defined_in(cls: type, name: str) -> tuple[type | None, Any]:
    """The class of ``cls.__mro__`` that defines ``name`` (as attribute lookup finds it)
    and the raw object defined there."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass, vars(klass)[name]
    return None, None


def _check_hook(where: str, name: str, member: FunctionType) -> None:
    """Raise :class:`PluginError` when hook ``name``, defined as ``member``, could not
    be called the way plugins are called (``where`` names it in the message)."""
    code = member.__code__
    if code.co_flags & (_COROUTINE | _ASYNC_GENERATOR):
        kind = "an async def" if code.co_flags & _COROUTINE else "an async generator"
        raise PluginError(
            f"{where} is {kind}, but plugin hooks are called synchronously, so its body "
            "would never run. Define it with a plain 'def': asynchronous work belongs in an "
            "async step or datasource, or on an event loop the plugin runs itself."
        )
    if code.co_flags & _VARARGS:
        return
    # Arity from the code objects (cheaper than inspect, which would be imported by
    # every `import crystallize` for the built-in plugins).
    spec = getattr(BasePlugin, name).__code__
    expected = spec.co_argcount
    positional = code.co_argcount
    required = positional - len(member.__defaults__ or ())
    if not (required <= expected <= positional):
        hook_args = ", ".join(spec.co_varnames[: spec.co_argcount])
        raise PluginError(
            f"{where} takes {positional} positional parameters "
            f"(including self) but the hook passes {expected}: {name}({hook_args})"
        )


WORKER_HOOKS = ("before_replicate", "before_step", "after_step")


def has_worker_hooks(plugin: BasePlugin) -> bool:
    """True when ``plugin`` implements a hook that runs where replicates run."""
    return any(overrides(plugin, hook) for hook in WORKER_HOOKS)


def overrides(plugin: BasePlugin, hook: str) -> bool:
    """True when ``plugin`` implements ``hook`` with something other than the no-op."""
    return getattr(type(plugin), hook, None) is not getattr(BasePlugin, hook)


__all__ = ["HOOK_NAMES", "WORKER_HOOKS", "BasePlugin", "check_hooks", "has_worker_hooks", "overrides"]
