"""Datasources: where each replicate's data comes from."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crystallize.utils.context import FrozenContext
from crystallize.utils.importing import factory_reference

if TYPE_CHECKING:
    import inspect


class DataSource:
    """Base class of datasources: subclass it and implement :meth:`fetch`.

    ``fetch`` runs once per replicate (and condition) with that replicate's context and
    returns the data handed to the first pipeline step. It may be ``async def``.
    """

    #: Keyword parameters the datasource was built with (provenance and fingerprints).
    params: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """A readable name: the class name unless a subclass says otherwise."""
        return type(self).__name__

    def fetch(self, ctx: FrozenContext) -> Any:
        """Return the data for one replicate."""
        raise NotImplementedError(f"{type(self).__name__}.fetch(ctx) is not implemented")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionDataSource(DataSource):
    """A datasource made by :func:`data_source` from a plain function."""

    def __init__(self, fn: Callable[..., Any], params: dict[str, Any]) -> None:
        self.fn = fn
        self.params = params

    @property
    def name(self) -> str:
        """The decorated function's name."""
        return self.fn.__name__

    def fetch(self, ctx: FrozenContext) -> Any:
        """Call the decorated function with ``ctx`` and the fixed parameters."""
        return self.fn(ctx, **self.params)

    def __reduce__(self):
        # The module attribute is the factory, not ``fn``: rebuild through it.
        return factory_reference(self.fn, "__crystallize_datasource__", dict(self.params))


def data_source(fn: Callable[..., Any]) -> Callable[..., FunctionDataSource]:
    """Turn ``def f(ctx, **params)`` into a factory: ``f(**params)`` returns a DataSource.

    Example::

        @data_source
        def numbers(ctx, n=3):
            return list(range(n))

        source = numbers(n=5)          # a DataSource; source.fetch(ctx) -> [0, 1, 2, 3, 4]
    """
    import inspect

    if not callable(fn):
        raise TypeError(
            f"data_source decorates a function def f(ctx, **params), got {fn!r}; "
            "use it bare: @data_source"
        )
    signature = inspect.signature(fn)
    _check_takes_ctx(fn, signature)
    accepted = _parameter_names(signature)
    accepted_names = frozenset(accepted)
    open_keywords = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())

    @functools.wraps(fn)
    def factory(*args: Any, **params: Any) -> FunctionDataSource:
        if not open_keywords:
            unknown = sorted(set(params) - accepted_names)
            if unknown:
                from crystallize.pipeline_step import _unknown_parameters_error

                raise _unknown_parameters_error("datasource", fn.__name__, unknown, accepted)
        try:
            bound = signature.bind_partial(None, *args, **params)
        except TypeError as exc:  # too many positional values, a value given twice, ...
            raise TypeError(
                f"datasource {fn.__name__}(): {exc} (it accepts: {', '.join(accepted) or 'none'})"
            ) from None
        if args:  # allow positional parameters after ctx, bound by name
            bound.arguments.pop(next(iter(signature.parameters)))
            params = dict(bound.arguments)
        return FunctionDataSource(fn, params)

    factory.__crystallize_datasource__ = fn  # type: ignore[attr-defined]
    return factory


#: Names of a first parameter that clearly is the context even when it has a default.
_CONTEXT_NAMES = ("ctx", "_ctx", "context")


def _check_takes_ctx(fn: Callable[..., Any], signature: inspect.Signature) -> None:
    """Raise TypeError unless ``fn``'s first parameter can receive the context.

    ``fetch(ctx)`` calls ``fn(ctx, **params)``, so the first parameter must be
    positional; one with a default (``def f(n=3)``) would silently get the context.
    """
    import inspect

    params = list(signature.parameters.values())
    first = params[0] if params else None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if first is not None and first.kind is inspect.Parameter.VAR_POSITIONAL:
        return
    if first is not None and first.kind in positional and (
        first.default is inspect.Parameter.empty or first.name in _CONTEXT_NAMES
    ):
        return
    raise TypeError(
        f"@data_source function '{fn.__name__}' must take the context as its first "
        f"parameter: def {fn.__name__}{_with_ctx_first(signature)}. fetch(ctx) calls it "
        "with the context first; the datasource's own parameters come after it."
    )


def _with_ctx_first(signature: inspect.Signature) -> str:
    """``signature`` with a ``ctx`` parameter put first, as text (for error messages)."""
    import inspect

    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    try:
        fixed = signature.replace(
            parameters=[ctx, *signature.parameters.values()],
            return_annotation=inspect.Signature.empty,
        )
    except ValueError:  # e.g. a keyword-only ctx already there
        return "(ctx, ...)"
    return str(fixed)


def _parameter_names(signature: inspect.Signature) -> list[str]:
    """The names a datasource factory accepts: every named parameter after the context."""
    import inspect

    return [
        p.name
        for p in list(signature.parameters.values())[1:]
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


__all__ = ["DataSource", "FunctionDataSource", "data_source"]
