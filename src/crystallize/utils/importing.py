"""Locating module-level objects by name, so decorated factories pickle by reference."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def import_qualname(module: str, qualname: str) -> Any:
    """Return the object ``module.qualname`` (nested names separated by dots)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def rebuild_from_factory(module: str, qualname: str, params: dict[str, Any]) -> Any:
    """Unpickling helper: call the module-level factory ``module.qualname(**params)``."""
    return import_qualname(module, qualname)(**params)


def rebuild_from_function(decorator: Callable[..., Any], fn: Callable[..., Any], params: dict[str, Any]) -> Any:
    """Unpickling helper: decorate ``fn`` again and call the new factory, ``decorator(fn)(**params)``."""
    return decorator(fn)(**params)


def base_function(fn: Any) -> Any:
    """``fn`` without its :class:`functools.partial` layers: the function a partial calls."""
    import functools

    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def callable_name(fn: Any) -> str:
    """The name of ``fn``: its ``__name__``, a partial's function's, else its class name."""
    base = base_function(fn)
    return getattr(base, "__name__", None) or type(base).__name__


class CopiedByAttributes:
    """Mixin for objects that pickle by reference (:func:`factory_reference`): their
    copies (``copy.copy``, ``copy.deepcopy``) copy the attributes instead, so an object
    whose function is defined inside another function, which cannot be pickled, can be
    copied. A deep copy shares the functions (``copy.deepcopy`` never copies them)."""

    __slots__ = ()

    def __copy__(self) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        import copy  # lazy: import time

        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone


def factory_reference(
    fn: Callable[..., Any],
    marker: str,
    params: dict[str, Any],
    decorator: Callable[..., Any] | None = None,
) -> tuple:
    """``__reduce__`` value rebuilding a decorated object from ``fn`` (a function or a
    :class:`functools.partial`) and the ``params`` it was built with.

    It refers to the module-level factory whose ``marker`` attribute is ``fn``: the one
    named like the function, else any module-level name holding it (``measure =
    pipeline_step()(_measure)``). With no such factory, and a ``decorator``, it refers to
    ``fn`` itself and rebuilds the factory with ``decorator(fn)`` when unpickled.

    Raises :class:`pickle.PicklingError` saying what to do when neither can be found
    again by name (defined inside a function, a lambda, or shadowed), so the problem
    shows in the driver rather than as a crashed worker.
    """
    module = getattr(base_function(fn), "__module__", None)
    name = _factory_name(module, fn, marker)
    if name is not None:
        return (rebuild_from_factory, (module, name, params))
    if decorator is not None and _found_by_name(fn):
        return (rebuild_from_function, (decorator, fn, params))
    raise _unfindable_error(fn, module, decorator)


def _factory_name(module: str | None, fn: Callable[..., Any], marker: str) -> str | None:
    """The name under which ``module`` holds the factory whose ``marker`` is ``fn``:
    the function's qualified name, else the first module-level name holding it."""
    import sys

    from crystallize.user_code import attribute_of

    qualname = getattr(fn, "__qualname__", None)
    if module is None:
        return None
    if qualname is not None:
        try:
            if attribute_of(import_qualname(module, qualname), marker) is fn:
                return qualname
        except Exception:
            pass
    namespace = vars(sys.modules[module]) if module in sys.modules else {}
    return next((name for name, value in list(namespace.items()) if attribute_of(value, marker) is fn), None)


def _found_by_name(fn: Callable[..., Any]) -> bool:
    """Whether pickle finds ``fn`` (a partial's function) again by module and qualified
    name; other callables pickle by value, so they count as found."""
    import types

    base = base_function(fn)
    if not isinstance(base, types.FunctionType):
        return True
    try:
        return import_qualname(base.__module__, base.__qualname__) is base
    except Exception:
        return False


def _unfindable_error(fn: Callable[..., Any], module: str | None, decorator: Callable[..., Any] | None) -> Exception:
    """The PicklingError for a factory and function that cannot be found again by name."""
    import pickle

    name = callable_name(fn)
    qualname = getattr(base_function(fn), "__qualname__", name)
    decorate = f"@{decorator.__name__}" if decorator is not None else "the decorator"
    if "<lambda>" in qualname:
        reason, fix = "it is a lambda", f"define it with def at module scope and decorate it with {decorate}"
    elif "<locals>" in qualname:
        reason = "it is defined inside a function"
        fix = f"move def {name} to module scope and decorate it there with {decorate}"
    else:
        reason = "the module has no such name, or it names a different object"
        fix = (
            f"define def {name} at module scope under its own name and decorate it there with "
            f"{decorate}, or assign the factory to a module-level name"
        )
    return pickle.PicklingError(
        f"'{qualname}' from module '{module}' cannot be found again by name ({reason}); "
        f"worker processes need it defined at module scope: {fix}"
    )
