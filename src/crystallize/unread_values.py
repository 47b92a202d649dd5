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
#: Uses that cannot add a key to the context: the above, and reading it (``ctx.get(k)``,
#: ``ctx.as_dict()``, ``ctx.keys()``; ``ctx[k]`` and ``k in ctx`` are allowed as well).
_CONTEXT_LOOKUPS = _CONTEXT_WRITES | {"get", "as_dict", "keys"}
#: Names and attributes that reach a function's local variables (the context among them).
_FRAME_ACCESS = frozenset({"locals", "vars", "eval", "exec", "_getframe", "currentframe", "f_locals", "f_back"})
#: Plugin hooks that see the context or run inside a replicate.
_CONTEXT_HOOKS = ("before_replicate", "before_step", "after_step", "on_event")
#: Plugin hooks that could add a context key a step reads: the ones seeing the context,
#: and those seeing the experiment before or while replicates run (they could change
#: ``initial_ctx``). Not ``init_hook`` (it ran when the experiment was built: what it
#: did is seen) nor ``after_run`` (nothing runs after it).
_KEY_ADDING_HOOKS = (*_CONTEXT_HOOKS, "before_run", "on_replicate_end", "run_experiment_loop")


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
    return _may_use_context(experiment, treatment.values.values(), steps, datasource, _CONTEXT_HOOKS, False)


def may_add_context_keys(
    experiment: Experiment, treatment: Treatment | None, steps: Sequence[Any], datasource: Any
) -> bool:
    """False only when it is certain that nothing in a condition adds context keys
    besides ``initial_ctx``, the treatment's mapping of values and the engine's keys.

    The condition is the baseline (``treatment`` is ``None``) or ``treatment``'s, running
    ``steps`` on ``datasource``. What could add a key: a treatment given as a function
    ``fn(ctx)``; a step that is not a ``@pipeline_step`` function, or one that takes
    ``ctx`` and may use it for more than reading it (``ctx[k]``, ``k in ctx``,
    ``ctx.get``, ``ctx.as_dict``, ``ctx.keys``) and ``ctx.metrics``/``ctx.record``/
    ``ctx.emit``; the same for the datasource; a plugin hook defined outside crystallize
    that sees the context or the experiment while it runs (:data:`_KEY_ADDING_HOOKS`:
    it could change ``initial_ctx``); a resource factory among the context values.
    """
    if treatment is None:
        values: Any = ()
    elif isinstance(treatment.values, Mapping):
        values = treatment.values.values()
    elif treatment.values is not None:
        return True  # fn(ctx) may add anything
    else:
        values = ()
    return _may_use_context(experiment, values, steps, datasource, _KEY_ADDING_HOOKS, True)


def _may_use_context(
    experiment: Experiment,
    values: Any,
    steps: Sequence[Any],
    datasource: Any,
    hooks: Sequence[str],
    lookups: bool,
) -> bool:
    """Whether a step, the datasource, a plugin's ``hooks`` or a resource factory among
    ``initial_ctx`` and ``values`` may use the context; with ``lookups``, reading it
    (by key or :data:`_CONTEXT_LOOKUPS`) does not count as a use."""
    if any(_step_may_read(step, lookups) for step in steps):
        return True
    if datasource is not None and _source_may_read(datasource, lookups):
        return True
    if any(_plugin_may_read(plugin, hooks) for plugin in experiment.plugins):
        return True
    return any(hasattr(value, "_crystallize_resolve") for value in (*experiment.initial_ctx.values(), *values))


def _step_may_read(step: Any, lookups: bool = False) -> bool:
    if type(step) is not FunctionStep:
        return True
    return step._wants_ctx and _uses_context(step.fn, step._ctx_name, lookups)


def _source_may_read(datasource: Any, lookups: bool = False) -> bool:
    if type(datasource) is not FunctionDataSource:
        return True
    import inspect

    first = next(iter(inspect.signature(datasource.fn).parameters.values()))
    return first.kind is inspect.Parameter.VAR_POSITIONAL or _uses_context(datasource.fn, first.name, lookups)


def _plugin_may_read(plugin: BasePlugin, hooks: Sequence[str] = _CONTEXT_HOOKS) -> bool:
    for hook in hooks:
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


def _uses_context(fn: Callable[..., Any], name: str, lookups: bool = False) -> bool:
    """True unless ``fn``'s code (its bytecode: what runs, whatever the file says now)
    uses its parameter ``name``, the context, only as ``name.metrics``, ``name.record``
    or ``name.emit``, and never reaches its local variables (``locals()``, frames).
    With ``lookups``, reading the context is allowed too: ``name[key]``, ``key in name``
    and the attributes in :data:`_CONTEXT_LOOKUPS`.

    Anything that cannot be seen through counts as a use: no Python code, a wrapper
    (``__wrapped__``), ``name`` not a named parameter (``*args``), or the context
    captured by an inner function.
    """
    code = getattr(fn, "__code__", None)
    if code is None or hasattr(fn, "__wrapped__"):
        return True
    return _code_uses_context(code, name, lookups)


@functools.lru_cache(maxsize=512)
def _code_uses_context(code: Any, name: str, lookups: bool = False) -> bool:
    """:func:`_uses_context` for a function's code object. Cached by code, which holds
    no closure, defaults or globals: a function re-defined in a loop or notebook cell
    is not kept alive, nor anything it captures."""
    import dis

    if name not in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount] or name in code.co_cellvars:
        return True
    if _reaches_frames(code):
        return True
    allowed = _CONTEXT_LOOKUPS if lookups else _CONTEXT_WRITES
    instructions = list(dis.get_instructions(code))
    for index, instruction in enumerate(instructions):
        names = instruction.argval if isinstance(instruction.argval, tuple) else (instruction.argval,)
        if "FAST" not in instruction.opname or name not in names:
            continue
        following = instructions[index + 1 : index + 3]
        if not (
            instruction.opname.startswith("LOAD_FAST")
            and names[-1] == name
            and name not in names[:-1]
            and following
            and (
                (following[0].opname in ("LOAD_ATTR", "LOAD_METHOD") and following[0].argval in allowed)
                or (lookups and _is_lookup(following, name))
            )
        ):
            return True
    return False


def _is_lookup(following: Sequence[Any], name: str) -> bool:
    """Whether the instructions after loading the context ``name`` look a key up in it:
    ``key in name`` (the context is the container) or ``name[key]`` with ``key`` a
    constant or another local variable."""
    if following[0].opname == "CONTAINS_OP":
        return True
    if len(following) < 2 or following[0].opname not in ("LOAD_CONST", "LOAD_FAST", "LOAD_SMALL_INT"):
        return False
    if following[0].opname == "LOAD_FAST" and following[0].argval == name:
        return False
    subscript = following[1]
    return subscript.opname == "BINARY_SUBSCR" or (subscript.opname == "BINARY_OP" and subscript.argrepr == "[]")


def _reaches_frames(code: Any) -> bool:
    """True when ``code`` or a function defined inside it names a way to a frame's
    local variables (``locals``, ``vars``, ``eval``, ``sys._getframe``...)."""
    if _FRAME_ACCESS.intersection(code.co_names):
        return True
    return any(_reaches_frames(const) for const in code.co_consts if hasattr(const, "co_names"))


__all__ = ["condition_unread_values", "may_add_context_keys", "unread_values"]
