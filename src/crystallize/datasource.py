"""Datasources: where each replicate's data comes from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from crystallize.pipeline_step import (
    NO_PARAMS,
    bind_positional,
    callable_signature,
    instance_name_property,
    refuse_async_generator,
    refuse_class,
    refuse_positional_only,
    unknown_parameters,
    unknown_parameters_error,
    wraps_callable,
)
from crystallize.utils.context import FrozenContext
from crystallize.utils.importing import CopiedByAttributes, callable_name, factory_reference

if TYPE_CHECKING:
    import inspect

_P = ParamSpec("_P")


class DataSource:
    """Base class of datasources: subclass it and implement :meth:`fetch`.

    ``fetch`` runs once per replicate (and condition) with that replicate's context and
    returns the data handed to the first pipeline step. It may be ``async def``. ``name``
    is the class name unless set in ``__init__`` (``self.name = "images"``) or as a class
    attribute. Set ``params`` in ``__init__`` too (``self.params = {"n": n}``); until then
    it is an empty, read-only mapping shared by every class.
    """

    #: Keyword parameters the datasource was built with (provenance and fingerprints).
    #: Read-only and empty until a subclass sets its own: ``self.params = {"n": n}``.
    params: Mapping[str, Any] = NO_PARAMS

    name = instance_name_property("datasource")

    def fetch(self, ctx: FrozenContext) -> Any:
        """Return the data for one replicate."""
        raise NotImplementedError(f"{type(self).__name__}.fetch(ctx) is not implemented")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionDataSource(DataSource, CopiedByAttributes):
    """A datasource made by :func:`data_source` from a plain function."""

    def __init__(self, fn: Callable[..., Any], params: dict[str, Any]) -> None:
        self.fn = fn
        self.params = params

    @property
    def name(self) -> str:
        """The decorated function's name (a partial's function's)."""
        return callable_name(self.fn)

    def fetch(self, ctx: FrozenContext) -> Any:
        """Call the decorated function with ``ctx`` and the fixed parameters."""
        return self.fn(ctx, **self.params)

    def __reduce__(self):
        # The module attribute is the factory, not ``fn``: rebuild through it (or by
        # decorating ``fn`` again).
        return factory_reference(self.fn, "__crystallize_datasource__", dict(self.params), data_source)


def data_source(fn: Callable[Concatenate[Any, _P], Any] | None = None) -> Callable[_P, FunctionDataSource]:
    """Turn ``def f(ctx, **params)`` into a factory: ``f(**params)`` returns a DataSource.

    A datasource gets nothing from the context but the context itself: every parameter
    without a default must be given to the factory (positionally or by keyword), and
    ``**kwargs`` accepts any other keyword.

    ``fn`` may be a :class:`functools.partial`: the datasource is named after its
    function and the arguments the partial fixes are not accepted by the factory.
    ``@data_source()`` works as ``@data_source`` does.

    Raises:
        TypeError: at decoration, when the first parameter cannot take the context or a
            later one is ``*args`` or positional-only (parameters are passed by keyword);
            from the factory, for unknown or missing parameters.

    Example::

        @data_source
        def numbers(ctx, n=3):
            return list(range(n))

        source = numbers(n=5)          # a DataSource; source.fetch(ctx) -> [0, 1, 2, 3, 4]
    """
    import inspect

    if fn is None:  # @data_source() works as @data_source does
        return data_source  # type: ignore[return-value]
    if not callable(fn):
        raise TypeError(
            f"data_source decorates a function def f(ctx, **params), got {fn!r}; "
            "use it bare: @data_source"
        )
    refuse_class("@data_source", fn, "DataSource", "fetch(self, ctx)")
    refuse_async_generator("@data_source", fn)
    signature = callable_signature(fn)
    name = callable_name(fn)
    _check_takes_ctx(fn, signature)
    first, *rest = signature.parameters.values()
    _check_passed_by_keyword(fn, rest)
    var_keyword = next((p.name for p in rest if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    names = [p.name for p in rest if p.name != var_keyword]
    accepted = names + [f"**{var_keyword}"] if var_keyword else names
    # The context's parameter is passed already (a leading ``*args`` takes nothing by name).
    reserved = () if first.kind is inspect.Parameter.VAR_POSITIONAL else (first.name,)
    positional = [p.name for p in rest if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    required = [p.name for p in rest if p.default is inspect.Parameter.empty and p.name != var_keyword]

    @wraps_callable(fn)
    def factory(*args: Any, **params: Any) -> FunctionDataSource:
        bind_positional("datasource", name, args, params, positional, accepted)
        unknown = unknown_parameters(params, names, reserved, var_keyword)
        if unknown:
            raise unknown_parameters_error("datasource", name, unknown, accepted)
        missing = [parameter for parameter in required if parameter not in params]
        if missing:
            raise _missing_parameters_error(name, missing)
        return FunctionDataSource(fn, params)

    # What the factory takes: the parameters after the context, as they are.
    factory.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=rest, return_annotation=FunctionDataSource
    )
    factory.__crystallize_datasource__ = fn  # type: ignore[attr-defined]
    return factory  # type: ignore[return-value]  # binds _P as the function does


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
    name = callable_name(fn)
    raise TypeError(
        f"@data_source function '{name}' must take the context as its first "
        f"parameter: def {name}{_with_ctx_first(signature)}. fetch(ctx) calls it "
        "with the context first; the datasource's own parameters come after it."
    )


def _check_passed_by_keyword(fn: Callable[..., Any], rest: list[inspect.Parameter]) -> None:
    """Raise TypeError for parameters after the context that ``fetch`` cannot fill.

    ``fetch(ctx)`` calls ``fn(ctx, **params)``: a ``*args`` parameter could only ever be
    empty and a positional-only one could never be given.
    """
    import inspect

    for p in rest:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            name = callable_name(fn)
            raise TypeError(
                f"@data_source function '{name}' takes *{p.name}, but a datasource's "
                f"parameters are passed by keyword: name it, e.g. def {name}(ctx, "
                f"{p.name}=()), and build it with {name}({p.name}=(...))"
            )
    refuse_positional_only("@data_source", fn, rest, "context")


def _missing_parameters_error(name: str, missing: list[str]) -> TypeError:
    """The TypeError for a datasource factory called without its required parameters."""
    example = ", ".join(f"{parameter}=..." for parameter in missing)
    return TypeError(
        f"datasource {name}() is missing required parameter(s) {', '.join(missing)}: pass a "
        f"value when building it, e.g. {name}({example}) (datasources get nothing from the context)"
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



__all__ = ["DataSource", "FunctionDataSource", "data_source"]
