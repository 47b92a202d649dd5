"""The code a callable object holds, for code digests: a decorator object's function
(``self.fn``, ``__wrapped__``), ``numpy.vectorize``'s, ``functools.singledispatch``'s
registered implementations, and functions, bound methods and partials among an object's
attributes: editing one changes the digest of the code that uses the object by name."""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Mapping
from typing import Any

from crystallize.user_code import attribute_of, is_user_class, is_user_function, qualified_name
from crystallize.value_tokens import plain_token

#: How many objects holding code in objects holding code :meth:`_Dependencies._held`
#: follows (a decorator object wrapping another one...).
HOLDER_DEPTH = 4


def may_hold_code(obj: Any) -> bool:
    """Whether ``obj`` is an object that may hold functions it runs: a callable object or
    a descriptor (``functools.singledispatchmethod``) that is no class or module."""
    if isinstance(obj, type | types.ModuleType):
        return False
    return callable(obj) or attribute_of(type(obj), "__get__") is not None


def held_code(obj: Any, depth: int = HOLDER_DEPTH, *, wrapped: bool = True) -> list[tuple[str, Any]]:
    """``(name, item)`` of the code ``obj`` holds that is (or leads to) user code, in an
    order that is the same in every process: its ``__wrapped__`` (unless ``wrapped`` is
    false: the caller follows it), the values of its instance attributes (``__dict__``
    and ``__slots__``, by name: a class-based decorator's ``self.fn``,
    ``numpy.vectorize``'s ``pyfunc``, ``cached_property``'s ``func``) that are functions,
    bound methods, partials, classes or objects holding such code themselves, and the
    functions in a ``registry`` mapping (``functools.singledispatch``'s, by type name).
    Values that are no code (a memo's dict, a flag) and library code holding no user code
    are left out: state, and what would only name library internals."""
    attributes = _instance_attributes(obj)
    held = attributes.pop("__wrapped__", None)
    if held is None and callable(obj):
        held = attribute_of(obj, "__wrapped__")
    if wrapped and held is not None:
        attributes["__wrapped__"] = held
    found: list[tuple[str, Any]] = []
    for name in sorted(attributes):
        value = attributes[name]
        if name == "registry" and isinstance(value, Mapping):
            entries = [(_registry_key(kind), item) for kind, item in value.items()]
            entries.sort(key=lambda entry: entry[0])  # stable: equal names keep registration order
            found.extend((f"registry[{key}]", item) for key, item in entries if _leads_to_user_code(item, depth))
        elif _leads_to_user_code(value, depth):
            found.append((name, value))
    return found


def _registry_key(key: Any) -> str:
    """How a ``registry`` key is named in a digest, the same in every process: a type by
    its qualified name, a plain value by its token, anything else by its type's name (its
    repr may hold its address)."""
    if isinstance(key, type):
        return qualified_name(key)
    token = plain_token(key)
    return token if token is not None else f"<{qualified_name(type(key))}>"


def _instance_attributes(obj: Any) -> dict[str, Any]:
    """``obj``'s own attributes: its ``__dict__`` (not a class's namespace) and the
    ``__slots__`` of its class and bases that are set."""
    attributes: dict[str, Any] = {}
    state = attribute_of(obj, "__dict__")
    if isinstance(state, dict):
        attributes.update((name, value) for name, value in state.items() if isinstance(name, str))
    for kind in type(obj).__mro__:
        namespace = vars(kind)
        slots = namespace.get("__slots__")
        if slots is None:
            continue
        for slot in (slots,) if isinstance(slots, str) else slots:
            if not isinstance(slot, str) or slot in ("__dict__", "__weakref__"):
                continue
            private = slot.startswith("__") and not slot.endswith("__")
            member = namespace.get(f"_{kind.__name__.lstrip('_')}{slot}" if private else slot)
            if isinstance(member, types.MemberDescriptorType) and slot not in attributes:
                try:
                    attributes[slot] = member.__get__(obj, kind)
                except AttributeError:  # not set
                    continue
    return attributes


def _leads_to_user_code(value: Any, depth: int) -> bool:
    """Whether ``value`` is a user function or class, a bound method or partial of one,
    or (within ``depth`` objects) an object holding such code (see :func:`held_code`)."""
    if isinstance(value, functools.partial):
        if depth <= 0:
            return False
        parts = (value.func, *value.args, *value.keywords.values())
        return any(_leads_to_user_code(part, depth - 1) for part in parts)
    if inspect.ismethod(value):
        value = value.__func__
    if is_user_function(value) or is_user_class(value):
        return True
    if depth <= 1 or not may_hold_code(value):
        return False
    return is_user_class(type(value)) or bool(held_code(value, depth - 1))


__all__ = ["HOLDER_DEPTH", "held_code", "may_hold_code"]
