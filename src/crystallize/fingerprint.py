"""Spec fingerprints: what an experiment's results depend on, hashed.

A run is resumed only when its fingerprint matches, so anything that can change results
is part of the spec: the datasource and every step (their names, parameters and code,
see :func:`code_hash`), the treatments, the initial context and the seed settings. The number of
replicates is not: resuming with more replicates runs just the missing ones.

Context values, step parameters and treatment values enter the spec as plain JSON data
that tells apart any two values a step can tell apart (up to the order of a dict or a
set, which does not count). Plain JSON data (``None``, booleans, numbers, strings, lists
and dicts with string keys) is written as it is. Other small values are written as a
dict with one reserved key that names their kind:

* ``{"__tuple__": [...]}``: a tuple;
* ``{"__items__": [[key, value], ...]}``: a dict with a key that is not a string (its
  items in the order of their keys' JSON text), or with a key of its own that is one of
  these reserved keys, or with exactly the keys of a callable's form below;
* ``{"__set__": "set(str:'a',int:1)"}``: a set or frozenset of plain values, its members
  in sorted order (the same in every process);
* ``{"__repr__": "PosixPath('/data')"}``: a value of a type whose repr is exact (bytes,
  paths, dates, enum members, decimals, UUIDs, NumPy scalars...);
* ``{"__str__": "<...>"}``: a string that would read as a digest (below).

Functions and classes are written as ``{"callable": name, "code": digest}`` (see
:func:`code_hash`), resource factories as ``{"resource_factory": key, "code": digest}``.
Anything else, a subclass of list, tuple, dict or set (a named tuple, an ``OrderedDict``)
included, and any value over about 10 KB of text, enters as the text
``<type shape #digest>``: a digest of its content that changes whenever the value does
and is the same in every process. A float subclass (``numpy.float64``) counts as its
number, a string subclass as its text.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import re
import sys
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from crystallize.code_digest import code_hash, source_of
from crystallize.plugins.seed import SEED_MODULUS, SeedPlugin
from crystallize.user_code import (
    attribute_of,
    in_crystallize,
    is_user_class,
    is_user_function,
    portable_module_name,
    qualified_name,
)
from crystallize.utils.hashing import IMMUTABLE_TYPES, content_hash, pickle_digest
from crystallize.utils.importing import rebuild_from_factory
from crystallize.value_tokens import fits_decimal, set_token

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


class _CodePickler(pickle.Pickler):
    """A pickler for digests: user functions and classes are written as their
    :func:`code_hash` (pickle writes them by name, which stays the same when their code
    changes), and sets as their members' sorted digests (a set's order varies between
    processes), and paths as their class name and text (Python 3.13 pickles them from
    another module). Module names are written as :func:`portable_module_name` gives them,
    so a folder experiment's do not depend on where its folder is. Other values are
    written as :func:`pickle.dumps` does."""

    def __init__(self, file: Any, buffer_callback: Any = None) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffer_callback)
        # Called for every object pickled: a plain function is the cheapest hook (and the
        # only one that sees exact sets; reducer_override sees set subclasses).
        self.persistent_id = _set_id

    def reducer_override(self, obj: Any) -> Any:
        if is_user_function(obj) or is_user_class(obj) or _wraps_user_function(obj):
            return _by_code, (qualified_name(obj), code_hash(obj))
        if in_crystallize(type(obj)) and callable(attribute_of(obj, "fn")):
            return _portable_factory_reduction(obj)
        if isinstance(obj, set | frozenset):
            return _by_members, _set_id(obj, type(obj))
        if isinstance(obj, PurePath):
            return _by_path, (type(obj).__name__, obj.as_posix())
        return NotImplemented


_SET_TYPES = frozenset({set, frozenset})


def _set_id(obj: Any, kind: type | None = None) -> tuple[str, tuple[str, ...]] | None:
    """``(type, sorted member digests)`` of a set (of a ``kind`` subclass), else ``None``."""
    if kind is None and type(obj) not in _SET_TYPES:
        return None
    members = [param_digest(member) for member in obj]
    if None in members:
        raise pickle.PicklingError(f"a member of a {type(obj).__name__} cannot be digested")
    return qualified_name(type(obj)), tuple(sorted(members))  # type: ignore[type-var]


def _wraps_user_function(obj: Any) -> bool:
    if not callable(obj) or attribute_of(obj, "__wrapped__") is None:
        return False
    try:
        return is_user_function(inspect.unwrap(obj))
    except ValueError:  # a cycle of __wrapped__
        return False


def _portable_factory_reduction(obj: Any) -> Any:
    """How a step, datasource or verifier pickles (by its factory's module and name, see
    :func:`~crystallize.utils.importing.factory_reference`), with the module named as
    digests name it (a folder experiment's the same wherever the folder is);
    ``NotImplemented`` for one pickled otherwise."""
    reduced = obj.__reduce_ex__(5)
    if reduced[0] is not rebuild_from_factory:
        return NotImplemented
    module, name, params = reduced[1]
    return (rebuild_from_factory, (portable_module_name(module), name, params), *reduced[2:])


def _by_code(name: str, digest: str) -> str:
    """What :class:`_CodePickler` writes in place of a user function (never unpickled)."""
    return name


def _by_path(kind: str, text: str) -> str:
    """What :class:`_CodePickler` writes in place of a path (never unpickled)."""
    return text


def _by_members(name: str, members: tuple[str, ...]) -> str:
    """What :class:`_CodePickler` writes in place of a set subclass (never unpickled)."""
    return name


def param_digest(value: Any) -> str | None:
    """A stable digest of a step parameter for cache keys, ``None`` when it has none.

    Plain values are digested by content (as :func:`~crystallize.utils.hashing.content_hash`
    does); user functions and classes anywhere inside (``{"transform": f, ...}``, a
    ``functools.partial``, an instance's class) by their :func:`code_hash`, so editing
    them changes the digest. Sets anywhere inside count by their members in sorted
    order, so a set of strings has the same digest in every process (and hits the step
    cache there). ``None`` means the value cannot be pickled even then (a lock, an open
    file...): the caller should not cache.
    """
    if type(value) in IMMUTABLE_TYPES:
        return content_hash(value)
    try:
        return pickle_digest(value, _CodePickler)  # content_hash's, for plain values
    except Exception:
        return None


class _Discard:
    """A write-only file that drops what is written (see :class:`_CodeFinder`)."""

    __slots__ = ()

    @staticmethod
    def write(data: Any) -> int:
        return len(data)


def _out_of_band(buffer: pickle.PickleBuffer) -> None:
    """A ``buffer_callback`` keeping every buffer out of the pickle, unread."""


class _CodeFinder(pickle.Pickler):
    """Pickles a value to nowhere, collecting the user functions and classes it holds
    (by reference, as :func:`~crystallize.utils.hashing.content_hash` pickles them):
    values and their containers of built-in types are pickled by C code alone, and large
    buffers (NumPy arrays, DataFrame columns) are neither copied nor read."""

    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=5, buffer_callback=_out_of_band)
        #: ``{id: function or class}`` of the user code found.
        self.found: dict[int, Any] = {}

    def reducer_override(self, obj: Any) -> Any:
        if is_user_function(obj) or is_user_class(obj) or _wraps_user_function(obj):
            self.found[id(obj)] = obj
            return _by_code, (qualified_name(obj), "")  # its code is digested apart
        kind = type(obj)
        if is_user_class(kind):  # an instance (its __reduce__ may not name its class)
            self.found[id(kind)] = kind
        return NotImplemented


def user_code_in(value: Any) -> list[Any] | None:
    """The user functions and classes ``value`` holds, its objects' classes included
    (``[]`` for plain data), ``None`` when it cannot be pickled.

    A step's input is keyed by its :func:`~crystallize.utils.hashing.content_hash`,
    which writes functions and classes by name: the step cache adds the code of these
    (see :class:`~crystallize.step_cache.StepCacheKey`), so an edited method of an input
    object's class is a change of the input."""
    if type(value) in IMMUTABLE_TYPES:
        return []
    finder = _CodeFinder()
    try:
        finder.dump(value)
    except Exception:
        return None
    return list(finder.found.values())


#: What :func:`state_digest` returns for attributes that cannot be digested: never equal
#: to anything stored, so such a step is not resumed into (and the step cache skips it).
UNHASHABLE_STATE = "unhashable"


def state_digest(obj: Any) -> str | None:
    """A digest of a class-based step's or datasource's attributes, ``None`` for those
    made by ``@pipeline_step`` / ``@data_source`` (whose ``params`` are their state).

    A ``PipelineStep`` subclass keeping ``self.factor`` without listing it in ``params``
    must not share cache entries or resumed runs with an instance holding another
    factor. Attributes that cannot be digested give :data:`UNHASHABLE_STATE`.
    """
    from crystallize.datasource import FunctionDataSource
    from crystallize.pipeline_step import FunctionStep

    if isinstance(obj, FunctionStep | FunctionDataSource):
        return None
    state = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                state[slot] = getattr(obj, slot)
    if not state:
        return None
    return param_digest(dict(sorted(state.items()))) or UNHASHABLE_STATE


#: About how many characters of spec text a value may take before the spec keeps only its
#: digest: small values stay readable for ``crystallize diff`` and the resume log.
_SPEC_LIMIT = 10_000
#: Ints from here on have more digits than Python turns into decimal text by default.
#: Types whose repr is an exact, stable description of the value (kept as it is).
_EXACT_REPR = (
    ("builtins", "bytes"), ("builtins", "complex"), ("builtins", "range"), ("enum", "Enum"),
    ("decimal", "Decimal"), ("fractions", "Fraction"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "tzinfo"), ("pathlib", "PurePath"), ("uuid", "UUID"),
    ("numpy", "generic"),
)
#: ``(spec path, type)`` of the values already warned about as impossible to digest.
_WARNED: set[tuple[str, str]] = set()


#: Reserved keys of the dicts standing for values plain JSON data cannot tell apart
#: (see the module docstring).
_TUPLE, _ITEMS, _SET, _REPR, _STR = "__tuple__", "__items__", "__set__", "__repr__", "__str__"
_FORMS = (_TUPLE, _ITEMS, _SET, _REPR, _STR)
#: The keys of the dicts functions, classes and resource factories are written as: a user
#: dict with exactly these keys is written as ``__items__``.
_SHAPES = (frozenset({"callable", "code"}), frozenset({"resource_factory", "code"}))
#: What :func:`_digested` writes: a string reading like this is written as ``__str__``.
_DIGEST_TEXT = re.compile(r"<.* #(?:[0-9a-f]{32}|unhashable:[0-9a-f]{16})>", re.DOTALL)


def _values(values: Any, path: str, checked: bool = False) -> Any:
    """A mapping of values (the initial context, a step's parameters, a treatment's
    values) as plain data, each value on its own (a large one as its digest)."""
    if isinstance(values, dict):  # the mapping's own type is no value a step sees
        return _mapping(values, path, checked)
    return _plain(values, path)


def _plain(value: Any, path: str, checked: bool = False) -> Any:
    """``value`` as plain JSON data for the spec (see the module docstring): plain data as
    it is, other small values as a dict with a reserved key naming their kind; anything
    else, and values over :data:`_SPEC_LIMIT` (``checked``: known not to be), as
    ``<type #digest>`` text (:func:`_digested`), which changes whenever the value does."""
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if isinstance(value, Enum):  # before int and str: an IntEnum member is no int to a step
        return {_REPR: repr(value)}
    if isinstance(value, float):  # numpy.float64
        return value
    if isinstance(value, int):
        return value if fits_decimal(value) else _digested(value, path)
    if not checked and isinstance(value, _SIZED):
        if _exceeds(value, _SPEC_LIMIT):
            return _digested(value, path)
        checked = True
    if isinstance(value, str):
        return {_STR: value} if value[:1] == "<" and _DIGEST_TEXT.fullmatch(value) else value
    # Exact types only: a subclass (a named tuple, a defaultdict) behaves otherwise and
    # is digested with its type.
    if kind is list:
        return [_plain(item, f"{path}[{i}]", checked) for i, item in enumerate(value)]
    if kind is tuple:
        return {_TUPLE: [_plain(item, f"{path}[{i}]", checked) for i, item in enumerate(value)]}
    if kind is dict:
        return _mapping(value, path, checked)
    if kind is set or kind is frozenset:
        token = set_token(kind.__name__, value)
        return {_SET: token} if token is not None else _digested(value, path)
    spec = getattr(value, "_crystallize_spec", None)
    if spec is not None:  # e.g. a resource_factory: its identity, not its repr
        return spec()
    if callable(value) and attribute_of(value, "__qualname__") is not None:  # a function or class
        return {"callable": value.__qualname__, "code": code_hash(value)}
    if _has_exact_repr(value):
        return {_REPR: repr(value)}
    return _digested(value, path)


def _mapping(values: dict[Any, Any], path: str, checked: bool) -> dict[str, Any]:
    """A dict as plain data: as it is when its keys are strings, else (and when its keys
    could be read as one of the reserved forms) as ``{"__items__": [[key, value], ...]}``
    in the order of the keys' JSON text (a dict's order does not count, as with string
    keys)."""
    plain_keys = all(type(key) is str for key in values)
    if plain_keys and not any(form in values for form in _FORMS) and not (
        len(values) == 2 and frozenset(values) in _SHAPES
    ):
        return {key: _plain(value, f"{path}.{key}", checked) for key, value in values.items()}
    items = [
        [_plain(key, f"{path}.{key}", checked), _plain(value, f"{path}.{key}", checked)]
        for key, value in values.items()
    ]
    items.sort(key=lambda item: json.dumps(item[0], sort_keys=True, default=repr))
    return {_ITEMS: items}


_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def _exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` would take more than about ``limit`` characters of spec text
    (counted until the limit is passed, so a huge value costs no more than a small one)."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += 1 + len(item)
            if total <= limit:
                pending.extend(item.items() if isinstance(item, dict) else item)
        else:
            total += 8
        if total > limit:
            return True
    return False


def _has_exact_repr(value: Any) -> bool:
    for module_name, name in _EXACT_REPR:
        module = sys.modules.get(module_name)  # not imported: value cannot be one
        if module is not None and isinstance(value, getattr(module, name)):
            return True
    return False


def _digested(value: Any, path: str) -> str:
    """``<type #digest>``: a value kept in the spec by its content digest (with its shape
    or length, for people). A value that cannot be digested gets a token of its own
    every time (its runs are never resumed), and one warning."""
    digest = param_digest(value)
    if digest is None:
        _warn_undigestable(value, path)
        digest = f"{UNHASHABLE_STATE}:{os.urandom(8).hex()}"
    return f"<{_summary(value)} #{digest}>"


def _summary(value: Any) -> str:
    """``numpy.ndarray shape=(2000,) dtype=float64``, ``list of 3``, ``mymodule.Config``."""
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else qualified_name(kind)
    shape = attribute_of(value, "shape")
    if isinstance(shape, tuple):
        dtype = attribute_of(value, "dtype")
        return f"{name} shape={shape}" + (f" dtype={dtype}" if dtype is not None else "")
    try:
        return f"{name} of {len(value)}"
    except Exception:  # not sized
        return name


def _warn_undigestable(value: Any, path: str) -> None:
    kind = qualified_name(type(value))
    if (path, kind) in _WARNED:
        return
    _WARNED.add((path, kind))
    import warnings

    from crystallize.utils.callers import user_stacklevel

    warnings.warn(
        f"{path} holds a {kind} that cannot be pickled, so the run fingerprint cannot tell "
        "whether it changed: runs of this experiment will not be resumed "
        "(strategy='resume' starts a new run). Keep plain or picklable values there "
        "(e.g. the settings the object is built from).",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


#: Version of the way :func:`code_hash` digests code. Bump it with every change to
#: Crystallize that changes the digest of unchanged code: each run's spec records it
#: (under :data:`DIGEST_SCHEME_KEY`), so a resume can tell code digests of an earlier
#: scheme from a change to the user's code. Runs stored before it existed have none.
#: 2: constants of other number types (NumPy scalars, ``Decimal``), enum members, dates,
#: times and UUIDs (not paths), closure variables of any type and modules imported inside
#: a function count.
#: 3: the user functions a callable object holds count (a decorator class's ``self.fn``,
#: ``numpy.vectorize``'s function, ``singledispatch`` registrations, functions, bound
#: methods and partials among an object's attributes).
#: 4: of an object's attributes only the functions it holds count: objects of the user's
#: classes only inside a callable object or descriptor, values a ``cached_property``
#: stored not at all (a model built on first use no longer reads as edited code).
CODE_DIGEST_SCHEME = 4
#: The spec key holding :data:`CODE_DIGEST_SCHEME`; no part of the :func:`fingerprint`.
DIGEST_SCHEME_KEY = "code_digests"


def digest_scheme_of(spec: dict[str, Any]) -> int | None:
    """The :data:`CODE_DIGEST_SCHEME` a stored spec's code digests were computed with
    (``None``: a run stored before specs recorded it)."""
    scheme = spec.get(DIGEST_SCHEME_KEY)
    return scheme if isinstance(scheme, int) and not isinstance(scheme, bool) else None


def spec_of(experiment: Experiment) -> dict[str, Any]:
    """The parts of ``experiment`` that determine its results, as plain data, with the
    :data:`CODE_DIGEST_SCHEME` of its code digests."""
    seed = experiment.get_plugin(SeedPlugin)
    steps = experiment.pipeline.steps if experiment.pipeline is not None else []
    datasource = experiment.datasource
    return {
        "datasource": _component(datasource, "datasource"),
        "steps": _components(steps, "steps"),
        "treatments": {t.name: _treatment_spec(t, steps) for t in experiment.treatments},
        "initial_ctx": _values(experiment.initial_ctx, "initial_ctx"),
        "seed": None
        if seed is None
        else {
            # As the replicates see it: seed=5 and seed=2**32 + 5 run the same seeds.
            "seed": _plain(seed.seed % SEED_MODULUS if seed.seed is not None else None, "seed.seed"),
            "auto_seed": seed.auto_seed,
            "seed_fn": _plain(seed.seed_fn, "seed.seed_fn") if seed.seed_fn else None,
        },
        DIGEST_SCHEME_KEY: CODE_DIGEST_SCHEME,
    }


def _components(objs: list[Any], path: str) -> list[dict[str, Any]]:
    return [_component(obj, f"{path}[{i}]") for i, obj in enumerate(objs)]


def _component(obj: Any, path: str) -> dict[str, Any]:
    component = {
        "name": getattr(obj, "name", type(obj).__name__),
        "params": _values(dict(getattr(obj, "params", {}) or {}), f"{path}.params"),
        "code": code_hash(obj),
    }
    state = state_digest(obj)
    if state is not None:  # class-based: its attributes count too
        component["state"] = state if state != UNHASHABLE_STATE else f"{state}:{os.urandom(8).hex()}"
    return component


def _treatment_spec(treatment: Any, base_steps: list[Any]) -> Any:
    path = f"treatments.{treatment.name}"
    if not treatment.reshapes:
        return _values(treatment.values, path)
    datasource = treatment.datasource
    return {
        "values": _values(treatment.values, f"{path}.values"),
        "datasource": _component(datasource, f"{path}.datasource") if datasource is not None else None,
        "steps": _components(treatment.resolve_steps(base_steps), f"{path}.steps"),
    }


def fingerprint(spec: dict[str, Any]) -> str:
    """A stable digest of a spec from :func:`spec_of`, without its digest-scheme marker
    (a run stored before the marker existed keeps its fingerprint)."""
    text = json.dumps(_without_marker(spec), sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def spec_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable names of the spec parts that differ (``steps[1].code``, ``seed``,
    ``initial_ctx.weights[2]``...); the digest-scheme marker is not one (see
    :func:`digest_scheme_of`). A value written in a reserved form (a tuple, a dict with
    other than string keys...) is named as a whole, or by its element that differs."""
    differences: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if a == b:
            return
        form = _form_of(a)
        if form != _form_of(b):  # another kind of value
            differences.append(path or "spec")
        elif form == _TUPLE:
            walk(a[_TUPLE], b[_TUPLE], path)
        elif form == _ITEMS:
            keys = _item_keys(a[_ITEMS])
            if keys is None or keys != _item_keys(b[_ITEMS]):
                differences.append(path)
                return
            for key, (_, x), (_, y) in zip(keys, a[_ITEMS], b[_ITEMS], strict=True):
                walk(x, y, f"{path}[{key}]")
        elif form is not None:  # one value: a set, a repr, a string
            differences.append(path)
        elif isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]")
        else:
            differences.append(path or "spec")

    walk(_without_marker(old), _without_marker(new), "")
    return differences


def _form_of(value: Any) -> str | None:
    """The reserved key of a value's spec form (``"__tuple__"``...), ``None`` for plain data."""
    if isinstance(value, dict):
        for form in _FORMS:
            if form in value:
                return form
    return None


def _item_keys(items: Any) -> list[str] | None:
    """The keys of an ``__items__`` form as JSON text, ``None`` when it is no list of pairs
    (a spec stored by a version that wrote a user's dict with that key as it was)."""
    if not isinstance(items, list) or not all(isinstance(item, list) and len(item) == 2 for item in items):
        return None
    return [json.dumps(key, sort_keys=True, default=repr) for key, _ in items]


def _without_marker(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` without its :data:`DIGEST_SCHEME_KEY`, which is no part of the experiment."""
    return {key: value for key, value in spec.items() if key != DIGEST_SCHEME_KEY}


__all__ = ["code_hash", "fingerprint", "param_digest", "source_of", "spec_differences", "spec_of", "user_code_in"]
