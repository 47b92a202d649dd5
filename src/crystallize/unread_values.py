"""Treatment values that nothing can read: a warning instead of a silent no-op.

A treatment (or an optimizer's trial) that sets a context key no step takes as a
parameter usually holds a typo (``{"detla": 5}``) and runs exactly like the baseline.
Steps may also read the context by key inside their code, so a key is reported only when
that is certain not to happen: every step and the datasource are plain decorated
functions whose code uses the context for nothing but ``ctx.metrics``, ``ctx.record`` and
``ctx.emit``, and no plugin hook or resource factory sees the context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.datasource import FunctionDataSource
from crystallize.pipeline_step import FunctionStep
from crystallize.plugins.hookspec import overrides
from crystallize.treatment import ENGINE_KEYS

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.plugins.hookspec import BasePlugin
    from crystallize.treatment import Treatment


def unread_values(experiment: Experiment, treatment: Treatment, owner: str | None = None) -> list[str]:
    """One message per value key of a mapping ``treatment`` that nothing in its condition
    of ``experiment`` can read, so the value changes nothing.

    A key counts as unread only when that is certain: it is no injected parameter
    (``context_keys``) nor fixed parameter of the condition's steps, not an engine key,
    and nothing could read the context by key (see :func:`_may_read_context`).

    Args:
        experiment: the experiment the treatment runs in.
        treatment: the treatment whose values are checked.
        owner: how the messages name a key's source, ``{key}`` standing for the key
            (default ``"Treatment '<name>' sets '{key}'"``).
    """
    try:
        steps = treatment.resolve_steps(experiment.pipeline.steps if experiment.pipeline is not None else [])
    except ValueError:
        return []  # validate() reports the bad swap
    return condition_unread_values(experiment, treatment, steps, owner)


def condition_unread_values(
    experiment: Experiment, treatment: Treatment, steps: Sequence[Any], owner: str | None = None
) -> list[str]:
    """:func:`unread_values` with the condition's ``steps`` already resolved."""
    if not isinstance(treatment.values, Mapping):
        return []
    injected = {key for step in steps for key in getattr(step, "context_keys", ())}
    fixed = {key for step in steps for key in getattr(step, "params", None) or {}}  # _shadowed_values
    keys = [
        key for key in treatment.values
        if isinstance(key, str) and key not in injected and key not in fixed and key not in ENGINE_KEYS
    ]
    datasource = treatment.datasource or experiment.datasource
    if not keys or _may_read_context(experiment, treatment, steps, datasource):
        return []
    subject = owner or f"Treatment '{treatment.name}' sets '{{key}}'"
    return [
        _unread_message(subject.format(key=key), key, treatment.values[key], injected, datasource)
        for key in keys
    ]


def _unread_message(subject: str, key: str, value: Any, injected: set[str], datasource: Any) -> str:
    """Why the value ``key`` changes nothing, and how it could be read."""
    from crystallize.utils.text import closest

    match = closest(key, injected)
    if match is not None:
        hint = f" (did you mean '{match}'?)"
    else:
        shown = f"the steps take: {', '.join(sorted(injected))}" if injected else "no step takes any"
        hint = f" ({shown})"
    message = (
        f"{subject}, but nothing reads it, so it changes nothing: no step takes a parameter "
        f"'{key}'{hint}, and no step, datasource or plugin uses the context other than through "
        "ctx.metrics, ctx.record or ctx.emit. Name the key after a step's keyword parameter, "
        f"or read it in a step that takes the context (def step(data, ctx) reading ctx[{key!r}])"
    )
    if isinstance(datasource, FunctionDataSource) and key in _parameter_names(datasource.fn):
        name = datasource.name
        message += (
            f". '{key}' is a parameter of datasource '{name}', but datasources get nothing from "
            f"the context: give the treatment its own datasource, "
            f"treatment(..., datasource={name}({key}={value!r})) (in config.yaml: "
            f"datasource: {{{name}: {{{key}: {value!r}}}}} under the treatment)"
        )
    return message


#: Uses of a step's or datasource's context that cannot read a value by key.
_CONTEXT_WRITES = frozenset({"metrics", "record", "emit"})
#: Names and attributes that reach a function's local variables (the context among them).
_FRAME_ACCESS = frozenset({"locals", "vars", "eval", "exec", "_getframe", "currentframe", "f_locals", "f_back"})
#: Plugin hooks that see the context or run inside a replicate.
_CONTEXT_HOOKS = ("before_replicate", "before_step", "after_step", "on_event")


def _may_read_context(
    experiment: Experiment, treatment: Treatment, steps: Sequence[Any], datasource: Any
) -> bool:
    """False only when nothing in the condition can read a context value by key.

    A reader is: a step that is not a ``@pipeline_step`` function, or one that takes
    ``ctx`` and may use it for more than ``ctx.metrics``/``ctx.record``/``ctx.emit``
    (:func:`_uses_context`); the same for the datasource (a ``@data_source``
    function always gets the context); a plugin hook seeing the context
    (:data:`_CONTEXT_HOOKS`) defined outside crystallize; a resource factory among the
    context values (it is called with the context).
    """
    if any(_step_may_read(step) for step in steps):
        return True
    if datasource is not None and _source_may_read(datasource):
        return True
    if any(_plugin_may_read(plugin) for plugin in experiment.plugins):
        return True
    values = [*experiment.initial_ctx.values(), *treatment.values.values()]
    return any(hasattr(value, "_crystallize_resolve") for value in values)


def _step_may_read(step: Any) -> bool:
    if type(step) is not FunctionStep:
        return True
    return step._wants_ctx and _uses_context(step.fn, step._ctx_name)


def _source_may_read(datasource: Any) -> bool:
    if type(datasource) is not FunctionDataSource:
        return True
    import inspect

    first = next(iter(inspect.signature(datasource.fn).parameters.values()))
    return first.kind is inspect.Parameter.VAR_POSITIONAL or _uses_context(datasource.fn, first.name)


def _plugin_may_read(plugin: BasePlugin) -> bool:
    for hook in _CONTEXT_HOOKS:
        if hook in getattr(plugin, "__dict__", {}):
            return True  # set on the instance
        if overrides(plugin, hook):
            module = getattr(getattr(type(plugin), hook), "__module__", None) or ""
            if not module.startswith("crystallize."):
                return True
    return False


def _parameter_names(fn: Callable[..., Any]) -> list[str]:
    import inspect

    return list(inspect.signature(fn).parameters)[1:]


def _uses_context(fn: Callable[..., Any], name: str) -> bool:
    """True unless ``fn``'s code (its bytecode: what runs, whatever the file says now)
    uses its parameter ``name``, the context, only as ``name.metrics``, ``name.record``
    or ``name.emit``, and never reaches its local variables (``locals()``, frames).

    Anything that cannot be seen through counts as a use: no Python code, a wrapper
    (``__wrapped__``), ``name`` not a named parameter (``*args``), or the context
    captured by an inner function.
    """
    code = getattr(fn, "__code__", None)
    if code is None or hasattr(fn, "__wrapped__"):
        return True
    return _code_uses_context(code, name)


@functools.lru_cache(maxsize=512)
def _code_uses_context(code: Any, name: str) -> bool:
    """:func:`_uses_context` for a function's code object. Cached by code, which holds
    no closure, defaults or globals: a function re-defined in a loop or notebook cell
    is not kept alive, nor anything it captures."""
    import dis

    if name not in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount] or name in code.co_cellvars:
        return True
    if _reaches_frames(code):
        return True
    instructions = list(dis.get_instructions(code))
    for index, instruction in enumerate(instructions):
        names = instruction.argval if isinstance(instruction.argval, tuple) else (instruction.argval,)
        if "FAST" not in instruction.opname or name not in names:
            continue
        following = instructions[index + 1] if index + 1 < len(instructions) else None
        if not (
            instruction.opname.startswith("LOAD_FAST")
            and names[-1] == name
            and name not in names[:-1]
            and following is not None
            and following.opname in ("LOAD_ATTR", "LOAD_METHOD")
            and following.argval in _CONTEXT_WRITES
        ):
            return True
    return False


def _reaches_frames(code: Any) -> bool:
    """True when ``code`` or a function defined inside it names a way to a frame's
    local variables (``locals``, ``vars``, ``eval``, ``sys._getframe``...)."""
    if _FRAME_ACCESS.intersection(code.co_names):
        return True
    return any(_reaches_frames(const) for const in code.co_consts if hasattr(const, "co_names"))


__all__ = ["condition_unread_values", "unread_values"]
