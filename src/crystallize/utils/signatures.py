"""Checking, when it is given, that a user's callable can be called the way the engine
calls it (``seed_fn(seed)``, a treatment's ``fn(ctx)``, a resource factory's ``fn(ctx)``),
so a wrong signature is one clear error at construction instead of a bare TypeError in
every replicate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def check_callable(
    fn: Callable[..., Any],
    arguments: Sequence[str],
    *,
    what: str,
    call: str,
    example: str,
    synchronous: bool = False,
) -> None:
    """Raise TypeError when ``fn`` cannot be called with ``len(arguments)`` positional
    arguments (defaults, ``*args`` and ``**kwargs`` are fine).

    The signature checked is the one of ``fn`` itself, not of the function a
    ``functools.wraps`` wrapper names in ``__wrapped__``: the engine calls the wrapper,
    which may fill in arguments itself (``def wrapper(ctx): return fn(ctx, 10)``); only
    a wrapper whose own signature cannot be read (``functools.lru_cache``'s, written in
    C) is checked by its ``__wrapped__``. A callable whose signature cannot be read at
    all (some builtins and C callables) is accepted as it is.

    The message names ``what`` (``"SeedPlugin seed_fn"``), ``call``, the call the engine
    makes (``"seed_fn(seed)"``), the parameter at fault and ``example``, a correct
    definition.

    Args:
        fn: the user's callable.
        arguments: the names of the positional arguments the engine passes (``("seed",)``).
        what: how the message names ``fn``'s role.
        call: how the engine calls it.
        example: a definition that works, shown in the message.
        synchronous: refuse an ``async def`` function too (the engine calls ``fn``
            without awaiting it, so its body would never run).
    """
    import inspect

    if synchronous and (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
        raise TypeError(
            f"{what} {_label(fn)} is an async def, but it is called as {call} without being "
            f"awaited, so its body would never run; define it with a plain def, e.g. {example}"
        )
    try:
        signature = inspect.signature(fn, follow_wrapped=False)  # what the engine calls
    except (TypeError, ValueError):
        try:  # a C wrapper passing its arguments on (functools.lru_cache): its function's
            signature = inspect.signature(fn)
        except (TypeError, ValueError):  # a builtin or C callable without a readable signature
            return
    try:
        signature.bind(*arguments)
        return
    except TypeError:
        pass
    raise TypeError(
        f"{what} is called as {call}, but {_label(fn)}{signature} {_problem(signature, arguments)}; "
        f"e.g. {example}"
    ) from None


def _problem(signature: Any, arguments: Sequence[str]) -> str:
    """Why a function with ``signature`` cannot take ``arguments`` positionally: too few
    positional parameters (naming a keyword-only one that should be positional), or a
    required parameter the call leaves unfilled."""
    import inspect

    kinds = inspect.Parameter
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    passed = " and ".join(f"'{name}'" for name in arguments)
    if len(positional) < len(arguments) and not any(p.kind is kinds.VAR_POSITIONAL for p in params):
        if positional:
            taken = ", ".join(f"'{p.name}'" for p in positional)
            problem = f"takes only {len(positional)} positional parameter(s) ({taken}), not {passed}"
        else:
            problem = f"takes no positional parameter, so it cannot receive {passed}"
        keyword_only = [p.name for p in params if p.kind is kinds.KEYWORD_ONLY]
        if keyword_only:
            problem += f" (parameter '{keyword_only[0]}' is keyword-only: move it before the *)"
        return problem
    extra = [
        p.name
        for p in positional[len(arguments) :] + [p for p in params if p.kind is kinds.KEYWORD_ONLY]
        if p.default is kinds.empty
    ]
    if extra:
        names = ", ".join(f"'{name}'" for name in extra)
        return (
            f"also requires parameter(s) {names}, which the call does not fill "
            f"(it passes only {passed}): give them a default or remove them"
        )
    return "cannot be called that way"


def _label(fn: Any) -> str:
    """``fn``'s name for a message (``<lambda>`` for a lambda, a partial's function's)."""
    from crystallize.utils.importing import callable_name

    return callable_name(fn)


__all__ = ["check_callable"]
