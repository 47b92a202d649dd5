"""Pipeline steps: the units of work a replicate runs in order.

``@pipeline_step`` turns a function into a step factory. Keyword parameters that were not
fixed when the step was built are injected from the replicate's context by name at run
time, so a treatment ``{"delta": 10}`` reaches a parameter named ``delta``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from crystallize.artifacts import Artifact, is_artifact_annotation
from crystallize.exceptions import MissingParameterError
from crystallize.utils.context import FrozenContext
from crystallize.utils.importing import (
    CopiedByAttributes,
    base_function,
    callable_name,
    factory_reference,
)

if TYPE_CHECKING:
    import inspect


class _NoDefault:
    """Marks a keyword parameter without a default (like ``inspect.Parameter.empty``)."""

    def __repr__(self) -> str:
        return "<no default>"


_NO_DEFAULT = _NoDefault()


class _FromContext:
    """The default a step factory's signature shows for a parameter the function gives
    none: the value then comes from the context."""

    def __repr__(self) -> str:
        return "<from the context>"


_FROM_CONTEXT = _FromContext()


def instance_name_property(kind: str) -> property:
    """A ``name`` property: the class name unless set on the instance (``self.name = ...``).

    Shared by :class:`PipelineStep` and :class:`~crystallize.datasource.DataSource`. The
    value lives in the instance's ``__dict__``, so it pickles and copies with the object;
    a subclass may still define ``name`` as a class attribute or its own property.

    Args:
        kind: what is named (``"step"``, ``"datasource"``), for the error message.
    """

    def get(self: Any) -> str:
        return self.__dict__.get("name", type(self).__name__)

    def set(self: Any, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TypeError(f"A {kind} name must be a non-empty string, got {value!r}")
        self.__dict__["name"] = value

    return property(get, set, doc=f"The {kind}'s name: the class name unless set with ``self.name = ...``.")


class _NoParams(dict):  # type: ignore[type-arg]
    """The empty, read-only ``params`` of a step or datasource class that sets none.

    A real (empty) dict, so code treating ``params`` as one (``json.dumps``, ``copy()``,
    ``|``) works for every step. It is shared by every such class, so it refuses
    changes: a subclass that did ``self.params["k"] = 5`` would otherwise give every
    other class that value in its provenance and cache keys.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "params is read-only until you set it: it is the empty default shared by every "
            "step and datasource class that sets none. Set your own in __init__, e.g. "
            "self.params = {'k': k}, then change it as you like."
        )

    __setitem__ = __delitem__ = __ior__ = update = setdefault = pop = popitem = clear = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, ())  # a copy elsewhere is a plain empty dict


#: The class-level ``params`` of :class:`PipelineStep` and ``DataSource``.
NO_PARAMS: Mapping[str, Any] = _NoParams()


class PipelineStep:
    """Base class of steps: implement ``__call__(self, data, ctx)``.

    A step returns the new data, or ``(data, {metric: value, ...})`` to record metrics.
    ``name`` identifies the step in provenance and logs: the class name unless set in
    ``__init__`` (``self.name = "resize"``) or as a class attribute. ``params`` holds the
    values it was built with (they enter cache keys and provenance): set it in
    ``__init__`` (``self.params = {"factor": factor}``); until then it is an empty,
    read-only mapping shared by every class. Set
    ``cacheable = True`` on a subclass to let the step cache store its output.
    """

    cacheable: bool = False
    #: Values the step was built with (cache keys, provenance). Read-only and empty until
    #: a subclass sets its own: ``self.params = {"factor": factor}``.
    params: Mapping[str, Any] = NO_PARAMS

    name = instance_name_property("step")

    #: Context keys the step may read through keyword injection (decorated steps set it).
    context_keys: tuple[str, ...] = ()

    def __call__(self, data: Any, ctx: FrozenContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.__call__(data, ctx) is not implemented")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class FunctionStep(PipelineStep, CopiedByAttributes):
    """A step made by :func:`pipeline_step` from a plain function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        spec: _StepSignature,
        params: dict[str, Any],
        cacheable: bool,
    ) -> None:
        self.fn = fn
        self.params = params
        self.cacheable = cacheable
        self.is_async = spec.is_async
        self._wants_ctx = spec.wants_ctx
        self._ctx_by_keyword = spec.ctx_by_keyword
        self._ctx_name = spec.ctx_name
        # Artifact parameters get a handle bound to each replicate's location.
        defaults = dict(spec.keywords)
        # Artifact parameters: annotated ``Artifact``, or given an Artifact value.
        artifact_names = set(spec.artifacts) | {
            n for n in {*spec.names, *params} if isinstance(params.get(n, defaults.get(n)), Artifact)
        }
        self._artifacts = tuple(
            (name, _as_artifact(name, params.get(name, defaults.get(name))))
            for name in sorted(artifact_names)
        )
        # Parameters resolved at run time: (name, default or _NO_DEFAULT).
        self._injected = tuple(
            (n, d) for n, d in spec.keywords if n not in params and n not in artifact_names
        )
        self.context_keys = tuple(name for name, _ in self._injected)

    @property
    def name(self) -> str:
        """The decorated function's name (a partial's function's)."""
        return callable_name(self.fn)

    def resolve_params(self, ctx: FrozenContext) -> dict[str, Any]:
        """Return the keyword arguments for one call: fixed ones, then context, then defaults."""
        kwargs = dict(self.params)
        data = ctx._data
        for name, default in self._injected:
            if name in data:
                kwargs[name] = ctx[name]
            elif default is not _NO_DEFAULT:
                kwargs[name] = default
            else:
                raise MissingParameterError(self.name, name, _context_name_hint(self.fn, name))
        for name, artifact in self._artifacts:
            kwargs[name] = artifact.bind(ctx)
        return kwargs

    def __call__(self, data: Any, ctx: FrozenContext) -> Any:
        # With only fixed parameters there is nothing to look up in this replicate.
        kwargs = self.resolve_params(ctx) if self._injected or self._artifacts else self.params
        if self._ctx_by_keyword:
            return self.fn(data, **{self._ctx_name: ctx}, **kwargs)
        if self._wants_ctx:
            return self.fn(data, ctx, **kwargs)
        return self.fn(data, **kwargs)

    def __reduce__(self):
        # The module attribute is the factory, not ``fn``: rebuild through it (or by
        # decorating ``fn`` again), then restore what may have changed after construction
        # (a cache switch).
        rebuild, args = factory_reference(self.fn, "__crystallize_step__", dict(self.params), pipeline_step)
        return (rebuild, args, {"cacheable": self.cacheable})


def _as_artifact(parameter: str, value: Any) -> Artifact:
    """The Artifact for an ``Artifact``-annotated parameter: given, named, or the parameter's name."""
    if isinstance(value, Artifact):
        return value
    if isinstance(value, str):
        return Artifact(value)
    if value is None or value is _NO_DEFAULT:
        return Artifact(parameter)
    raise TypeError(f"Parameter '{parameter}' is annotated Artifact but got {value!r}")


#: Parameter names that suggest the user meant the context (which must be named ``ctx``).
_CONTEXT_LOOKALIKES = frozenset({"context", "_ctx", "ctx_", "_context", "context_", "ctxt", "cx"})


def _context_name_hint(fn: Callable[..., Any], parameter: str) -> str:
    """A hint for a missing ``parameter`` that was probably meant to be the context.

    Only a parameter right after the data named ``ctx`` (or annotated ``FrozenContext``)
    receives the context; any other parameter is injected from the context by name. When the missing parameter is
    ``ctx`` itself (so it is not right after the data), or the function has no ``ctx``
    and the parameter is named like the context or sits where ``ctx`` goes, say so.
    Runs only on the error path.
    """
    import inspect

    params = list(callable_signature(fn).parameters.values())
    name = callable_name(fn)
    if parameter == "ctx":
        return (
            "A parameter named ctx receives the context only right after the data: "
            f"def {name}(data, ctx, *, option=1)."
        )
    if any(p.name == "ctx" for p in params):
        return ""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    in_ctx_slot = len(params) > 1 and params[1].name == parameter and params[1].kind in positional
    if parameter in _CONTEXT_LOOKALIKES or in_ctx_slot:
        return (
            f"If '{parameter}' is meant to receive the context, name it ctx or annotate it "
            f"FrozenContext: only such a parameter right after the data gets the context, e.g. "
            f"def {name}(data, ctx, *, option=1); every other parameter is injected from the "
            "context by name."
        )
    return ""


def unknown_parameters_error(
    kind: str, name: str, unknown: list[str], accepted: list[str]
) -> TypeError:
    """The TypeError for a step or datasource factory called with unknown parameters.

    Args:
        kind: what was called (``"step"``, ``"datasource"``).
        name: its name (the decorated function's).
        unknown: the unknown parameter names, sorted.
        accepted: the parameter names it accepts, in signature order.
    """
    from crystallize.utils.text import did_you_mean

    hint = did_you_mean(unknown[0], accepted) if len(unknown) == 1 else ""
    return TypeError(
        f"{kind} {name}() got unknown parameter(s) {', '.join(unknown)}{hint} "
        f"(it accepts: {', '.join(accepted) or 'none'})"
    )


def unknown_parameters(
    given: Mapping[str, Any], names: Iterable[str], reserved: Iterable[str], var_keyword: str | None
) -> list[str]:
    """The names in ``given`` a factory cannot take, sorted.

    Args:
        given: the parameters the factory was called with.
        names: the function's named parameters (after the data / context).
        reserved: the data / context parameters, which a ``**kwargs`` function cannot
            take as fixed parameters either (they are passed already).
        var_keyword: the ``**kwargs`` parameter's name, if any: it takes any other name.
    """
    if var_keyword is not None:
        return sorted(set(given) & set(reserved))
    return sorted(set(given) - set(names))


def bind_positional(
    kind: str,
    name: str,
    args: tuple[Any, ...],
    params: dict[str, Any],
    positional: list[str],
    accepted: list[str],
) -> None:
    """Add a factory's positional ``args`` to ``params`` under the names in ``positional``.

    Args:
        kind: what is built (``"step"``, ``"datasource"``), for error messages.
        name: its name (the decorated function's).
        args: the positional values given.
        params: the keyword values given; updated in place.
        positional: the names positional values fill, in order.
        accepted: every name the factory accepts.

    Raises:
        TypeError: more values than names, or a value given both ways.
    """
    if len(args) > len(positional):
        fillable = f"only {', '.join(positional)} can" if positional else "none can"
        raise TypeError(
            f"{kind} {name}() got {len(args)} positional value(s), but {fillable} be given "
            f"positionally (it accepts: {', '.join(accepted) or 'none'})"
        )
    for parameter, value in zip(positional, args, strict=False):
        if parameter in params:
            raise TypeError(f"{kind} {name}() got multiple values for '{parameter}'")
        params[parameter] = value


def refuse_positional_only(decorator: str, fn: Callable[..., Any], rest: list[Any], after: str) -> None:
    """Raise TypeError if a parameter in ``rest`` (those after ``after``) is positional-only.

    The engine passes those parameters by keyword, so ``def f(d, k, /)`` could never be
    called; the message shows the signature without the ``/``.
    """
    import inspect

    names = [p.name for p in rest if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    if not names:
        return
    signature = callable_signature(fn)
    fixed = signature.replace(
        parameters=[
            p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
            if p.kind is inspect.Parameter.POSITIONAL_ONLY
            else p
            for p in signature.parameters.values()
        ],
        return_annotation=inspect.Signature.empty,
    )
    name = callable_name(fn)
    raise TypeError(
        f"{decorator} function '{name}' has positional-only parameter(s) "
        f"{', '.join(names)}, but parameters after the {after} are passed by keyword: "
        f"remove the '/', e.g. def {name}{fixed}"
    )


class _StepSignature:
    """What a step function's signature says, inspected once at decoration time.

    The context goes to the parameter right after the data when it is named ``ctx`` or
    annotated ``FrozenContext`` (``def f(data, context: FrozenContext)``): positionally,
    or by keyword when it is keyword-only (``def f(data, *, ctx, k=1)``).
    """

    __slots__ = (
        "wants_ctx", "ctx_by_keyword", "ctx_name", "keywords", "names", "var_keyword", "reserved",
        "is_async", "artifacts", "factory_signature",
    )

    def __init__(self, fn: Callable[..., Any]) -> None:
        import inspect

        refuse_async_generator("@pipeline_step", fn)
        params = list(callable_signature(fn).parameters.values())
        if not params or params[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            raise TypeError(
                f"@pipeline_step function '{callable_name(fn)}' must take the data as its first "
                "positional parameter, e.g. def step(data, ctx, *, option=1)."
            )
        rest = params[1:]
        self.wants_ctx = bool(rest) and takes_context(rest[0])
        self.ctx_by_keyword = self.wants_ctx and rest[0].kind is inspect.Parameter.KEYWORD_ONLY
        #: The context parameter's name (``ctx``, or any name annotated FrozenContext).
        self.ctx_name = rest[0].name if self.wants_ctx else None
        #: Names a fixed parameter may not take: the data's (and ctx) are passed already.
        self.reserved = frozenset(p.name for p in params[: 2 if self.wants_ctx else 1])
        if self.wants_ctx:
            rest = rest[1:]
        refuse_positional_only("@pipeline_step", fn, rest, "data (and ctx)")
        self.keywords = tuple(
            (p.name, _NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
            for p in rest
            if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        )
        self.names = {name for name, _ in self.keywords}
        #: The ``**kwargs`` parameter's name, if any: it takes any other fixed parameter.
        self.var_keyword = next((p.name for p in rest if p.kind is inspect.Parameter.VAR_KEYWORD), None)
        self.is_async = inspect.iscoroutinefunction(fn)
        self.artifacts = frozenset(p.name for p in rest if is_artifact_annotation(p.annotation))
        self.factory_signature = _factory_signature(rest)


def takes_context(parameter: inspect.Parameter) -> bool:
    """Whether a step's parameter right after the data receives the context: it is
    named ``ctx`` or annotated ``FrozenContext`` (also as a string annotation)."""
    if parameter.name == "ctx":
        return True
    annotation = parameter.annotation
    if isinstance(annotation, str):
        return annotation.split(".")[-1].strip("'\" ") == "FrozenContext"
    return isinstance(annotation, type) and issubclass(annotation, FrozenContext)


def callable_signature(fn: Callable[..., Any]) -> inspect.Signature:
    """The signature of ``fn`` as the engine may call it.

    For a :class:`functools.partial` the parameters it already fixes are left out: its
    positional arguments (as :func:`inspect.signature` does) and its keywords, so they
    are neither injected from the context nor given to the factory.
    """
    import inspect

    signature = inspect.signature(fn)
    fixed: set[str] = set()
    while isinstance(fn, functools.partial):
        fixed.update(fn.keywords)
        fn = fn.func
    if not fixed:
        return signature
    return signature.replace(parameters=[p for p in signature.parameters.values() if p.name not in fixed])


def wraps_callable(fn: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """:func:`functools.wraps` for a factory of ``fn``: a partial gives its function's
    name, module and docstring; ``__wrapped__`` is ``fn`` itself."""

    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        functools.update_wrapper(factory, base_function(fn))
        factory.__wrapped__ = fn  # type: ignore[attr-defined]
        return factory

    return wrap


def refuse_class(decorator: str, fn: Any, base: str, method: str) -> None:
    """Raise TypeError when ``fn`` is a class: the decorators make functions into parts,
    and a class is made one by subclassing ``base`` (defining ``method``)."""
    if isinstance(fn, type):
        raise TypeError(
            f"{decorator} decorates a function, but {fn.__name__!r} is a class: make it one by "
            f"subclassing {base} (class {fn.__name__}({base}) defining {method}), or "
            f"decorate a function instead"
        )


def refuse_async_generator(decorator: str, fn: Callable[..., Any]) -> None:
    """Raise TypeError when ``fn`` is an async generator (``async def`` with ``yield``):
    a step or datasource returns its output, and the generator object itself would be
    passed on as the data."""
    import inspect

    if inspect.isasyncgenfunction(fn):
        raise TypeError(
            f"{decorator} function '{callable_name(fn)}' is an async generator (async def with yield); "
            "it must return its output: collect the items and return them as a list, "
            "e.g. return [item async for item in source]"
        )


def _factory_signature(rest: list[inspect.Parameter]) -> inspect.Signature:
    """The signature of a step factory (what ``help()`` shows): the parameters after the
    data (and ctx), each fillable positionally or by keyword as ``bind_positional``
    allows, with its default, else :data:`_FROM_CONTEXT`; ``**kwargs`` stays."""
    import inspect

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        p if p.kind is inspect.Parameter.VAR_KEYWORD else p.replace(
            kind=positional, default=_FROM_CONTEXT if p.default is inspect.Parameter.empty else p.default
        )
        for p in rest
        if p.kind is not inspect.Parameter.VAR_POSITIONAL
    ]
    return inspect.Signature(parameters, return_annotation=FunctionStep)


#: A step factory: ``factory(**fixed)`` returns a step.
StepFactory = Callable[..., FunctionStep]


@overload
def pipeline_step(fn: Callable[..., Any], *, cacheable: bool = False) -> StepFactory: ...
@overload
def pipeline_step(
    fn: None = None, *, cacheable: bool = False
) -> Callable[[Callable[..., Any]], StepFactory]: ...
def pipeline_step(
    fn: Callable[..., Any] | None = None, *, cacheable: bool = False
) -> StepFactory | Callable[[Callable[..., Any]], StepFactory]:
    """Turn ``def f(data, ctx, *, p=default, ...)`` into a step factory.

    ``f(**fixed)`` returns a :class:`PipelineStep`. The parameter right after the data
    receives the context when it is named ``ctx`` or annotated ``FrozenContext``; it may
    be left out. Keyword parameters not fixed at construction are
    injected from the context by name at run time, falling back to their defaults. With
    ``**kwargs`` any fixed parameter is accepted and passed through; nothing is injected
    into ``**kwargs`` from the context. Usable bare (``@pipeline_step``) or with options
    (``@pipeline_step(cacheable=True)``), or as a call on an existing function
    (``measure = pipeline_step()(_measure)``).

    ``fn`` may be a :class:`functools.partial`: the step is named after its function, and
    the arguments the partial fixes stay fixed (not injected from the context, not
    accepted by the factory); its other keyword parameters work as above. Steps pickle
    for worker processes when their factory or their function (a partial's function) is
    defined at module scope.

    Raises:
        TypeError: at decoration, when the data is not the first positional parameter or
            a parameter after the data (and ``ctx``) is positional-only.

    Example::

        @pipeline_step()
        def add_delta(data, ctx, *, delta=0.0):
            return [x + delta for x in data]

        step = add_delta()            # delta comes from the context (or 0.0)
        fixed = add_delta(delta=5)    # delta fixed at 5

        def add(data, *, amount, scale=1):    # a plain function
            return [(x + amount) * scale for x in data]

        plus_one = pipeline_step()(functools.partial(add, amount=1))   # amount is always 1
    """

    def decorate(func: Callable[..., Any]) -> StepFactory:
        if not callable(func):  # pipeline_step()(42)
            raise TypeError(f"pipeline_step decorates a function def step(data, ctx, *, option=1), got {func!r}")
        refuse_class("@pipeline_step", func, "PipelineStep", "__call__(self, data, ctx)")
        spec = _StepSignature(func)
        name = callable_name(func)
        positional = [parameter for parameter, _ in spec.keywords]
        accepted = positional + [f"**{spec.var_keyword}"] if spec.var_keyword else positional

        @wraps_callable(func)
        def factory(*args: Any, **params: Any) -> FunctionStep:
            bind_positional("step", name, args, params, positional, accepted)
            unknown = unknown_parameters(params, spec.names, spec.reserved, spec.var_keyword)
            if unknown:
                raise unknown_parameters_error("step", name, unknown, accepted)
            return FunctionStep(func, spec, params, cacheable)

        factory.__signature__ = spec.factory_signature  # type: ignore[attr-defined]
        factory.__crystallize_step__ = func  # type: ignore[attr-defined]
        return factory

    _check_decorator_arguments(fn, cacheable)
    if fn is not None:
        return decorate(fn)
    return decorate


def _check_decorator_arguments(fn: object, cacheable: object) -> None:
    """Raise TypeError for ``@pipeline_step`` arguments that cannot be right.

    ``cacheable`` must be a bool, and ``fn`` (the bare-decorator form) a function:
    ``pipeline_step(True)`` is a mistyped ``pipeline_step(cacheable=True)``.
    """
    if not isinstance(cacheable, bool):
        raise TypeError(f"pipeline_step cacheable must be True or False, got {cacheable!r}")
    if fn is not None and not callable(fn):
        raise TypeError(
            f"pipeline_step decorates a function, got {fn!r}; options are keywords: "
            "use @pipeline_step() or @pipeline_step(cacheable=True)"
        )


__all__ = ["FunctionStep", "PipelineStep", "pipeline_step"]
