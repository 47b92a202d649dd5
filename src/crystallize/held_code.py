"""The code a callable object holds, for code digests: a decorator object's function
(``self.fn``, ``__wrapped__``), ``numpy.vectorize``'s, ``functools.singledispatch``'s
registered implementations, and functions, bound methods and partials among an object's
attributes: editing one changes the digest of the code that uses the object by name.

Held *functions* count, not the objects an object happens to hold: an object of the
user's own class among an object's attributes counts only inside a wrapper (a callable
object or descriptor, such as a decorator object wrapping another one) and only for the
functions it holds in turn, and values a ``functools.cached_property`` stored are left
out. So a model an object builds on first use (``self.model = Net()``), or a cached
value, does not change the digest of the code using that object during a run."""

from __future__ import annotations

import functools
import inspect
import types
import weakref
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
    bound methods, partials, classes or library objects holding such code themselves,
    and the functions in a ``registry`` mapping (``functools.singledispatch``'s, by type
    name). Objects of a user class count only when ``obj`` is a wrapper itself (callable
    or a descriptor: a decorator object wrapping another one), and only when they hold
    such code in turn. Values that are no code (a memo's dict, a flag, an object built on
    first use, the value a ``functools.cached_property`` stored) and library code holding
    no user code are left out: state, and what would only name library internals."""
    objects = may_hold_code(obj)  # a wrapper: objects holding code count too
    candidates = _candidates(obj, wrapped)
    leads = [item is not obj and _leads_to_user_code(item, depth, objects) for _, item in candidates]
    if objects and any(leads):  # then a reference to itself (self.me = self) leads there too
        leads = [lead or item is obj for lead, (_, item) in zip(leads, candidates, strict=True)]
    return [candidate for candidate, lead in zip(candidates, leads, strict=True) if lead]


def _candidates(obj: Any, wrapped: bool) -> list[tuple[str, Any]]:
    """``(name, value)`` of what ``obj`` may hold code in, in name order: its
    ``__wrapped__`` (when ``wrapped``), its instance attributes but the values a
    ``functools.cached_property`` stored, and the entries of a ``registry`` mapping (by
    type name)."""
    attributes = _instance_attributes(obj)
    held = attributes.pop("__wrapped__", None)
    if held is None and callable(obj):
        held = attribute_of(obj, "__wrapped__")
    if wrapped and held is not None:
        attributes["__wrapped__"] = held
    cached = _cached_names(type(obj))
    found: list[tuple[str, Any]] = []
    for name in sorted(attributes):
        value = attributes[name]
        if name == "registry" and isinstance(value, Mapping):
            entries = [(_registry_key(kind), item) for kind, item in value.items()]
            entries.sort(key=lambda entry: entry[0])  # stable: equal names keep registration order
            found.extend((f"registry[{key}]", item) for key, item in entries)
        elif name not in cached:
            found.append((name, value))
    return found


def _holds_code(obj: Any, depth: int) -> bool:
    """Whether :func:`held_code` finds anything in ``obj``, found sooner: the functions
    it holds are looked at before the objects it holds are followed."""
    objects = may_hold_code(obj)
    items = [item for _, item in _candidates(obj, True) if item is not obj]
    return any(_leads_to_user_code(item, 0, objects) for item in items) or any(
        _leads_to_user_code(item, depth, objects) for item in items
    )


#: ``{class: names of its functools.cached_property attributes}`` (see :func:`_cached_names`).
_CACHED_NAMES: weakref.WeakKeyDictionary[type, frozenset[str]] = weakref.WeakKeyDictionary()


def _cached_names(kind: type) -> frozenset[str]:
    """The names under which a ``functools.cached_property`` of ``kind`` stores its value
    in an instance (its function is digested with the class; the value is state)."""
    names = _CACHED_NAMES.get(kind)
    if names is not None:
        return names
    names = frozenset(
        name
        for base in kind.__mro__
        for name, member in vars(base).items()
        if isinstance(member, functools.cached_property)
        and isinstance(inspect.getattr_static(kind, name, None), functools.cached_property)  # not overridden
    )
    _CACHED_NAMES[kind] = names
    return names


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


def _leads_to_user_code(value: Any, depth: int, objects: bool = True) -> bool:
    """Whether ``value`` is a user function or class, a bound method or partial of one,
    or (within ``depth`` objects) an object holding such code (see :func:`held_code`):
    a library wrapper (``numpy.vectorize``), or, when ``objects`` (the holder is itself a
    wrapper), an object of a user class. Such an object counts by the code it holds,
    not by its class alone: an object holding no function is state."""
    if isinstance(value, functools.partial):
        if depth <= 0:
            return False
        parts = (value.func, *value.args, *value.keywords.values())
        return any(_leads_to_user_code(part, depth - 1, objects) for part in parts)
    if inspect.ismethod(value):
        value = value.__func__
    if is_user_function(value) or is_user_class(value):
        return True
    if depth <= 1 or not may_hold_code(value) or (not objects and is_user_class(type(value))):
        return False
    return _holds_code(value, depth - 1)


__all__ = ["HOLDER_DEPTH", "held_code", "may_hold_code"]
