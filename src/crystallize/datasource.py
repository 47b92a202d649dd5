"""Datasources: where each replicate's data comes from."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from crystallize.utils.context import FrozenContext
from crystallize.utils.importing import factory_reference


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
        return self.fn.__name__

    def fetch(self, ctx: FrozenContext) -> Any:
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

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def factory(*args: Any, **params: Any) -> FunctionDataSource:
        if args:  # allow positional parameters after ctx, bound by name
            bound = signature.bind_partial(None, *args, **params)
            bound.arguments.pop(next(iter(signature.parameters)))
            params = dict(bound.arguments)
        else:
            signature.bind_partial(None, **params)  # TypeError for unknown names, early
        return FunctionDataSource(fn, params)

    factory.__crystallize_datasource__ = fn  # type: ignore[attr-defined]
    return factory


__all__ = ["DataSource", "FunctionDataSource", "data_source"]
