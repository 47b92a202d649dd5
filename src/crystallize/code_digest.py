"""Code digests: what a function, class or step runs, hashed.

:func:`code_hash` digests the source of a datasource, step or helper together with what
it uses: the helpers, classes and constants it reaches through its globals, closures
and defaults (library code is named, not read). Digests are remembered until the file
they came from changes. The experiment fingerprint (:mod:`crystallize.fingerprint`) and
the step cache key steps by it.

A digest describes the source the code was compiled from. For a folder experiment's
modules that is the text :class:`~crystallize.config.modules.FreshSourceLoader` kept when
it compiled them (see :func:`cache_source_lines`), not the file as it is now: an edit
that keeps the file's size and modification time is still seen by the next load, and
objects loaded before an edit keep the digest of the code they run.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import linecache
import os
import sys
import threading
import types
import weakref
from enum import Enum
from typing import Any

from crystallize.held_code import HOLDER_DEPTH, held_code, may_hold_code
from crystallize.user_code import (
    attribute_of,
    compiled_from_no_file,
    in_crystallize,
    is_user_class,
    is_user_function,
    is_user_module,
    modules_imported,
    portable_module_name,
    qualified_name,
)
from crystallize.value_tokens import (  # noqa: F401 - re-exported (see __all__)
    DECIMAL_DIGITS,
    decimal_bound,
    fits_decimal,
    plain_token,
    set_token,
)

#: ``{function or class: (loaded code, source digest)}``; a digest is reused while the
#: object runs the code it was taken from (see :func:`_loaded_code`), whatever its file
#: says since: an edit the process has not loaded changes nothing that runs.
_DIGESTS: weakref.WeakKeyDictionary[Any, tuple[Any, str]] = weakref.WeakKeyDictionary()

#: Held while :mod:`linecache` is made to show one version of a file and its source read
#: (objects from two loads of the same file may be digested in two threads).
_SOURCE_LOCK = threading.Lock()


def _code_target(obj: Any) -> Any:
    target = getattr(obj, "fn", None) or obj
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        target = type(target)
    return target


def source_of(obj: Any) -> str:
    """The source code behind a step, datasource or callable (its repr when unavailable)."""
    target = _code_target(obj)
    if inspect.ismethod(target):
        target = target.__func__
    try:
        # A wrapper's own code, not what ``inspect.getsource`` unwraps it to (the
        # wrapped function is followed as a dependency).
        wrapper = inspect.isfunction(target) and "__wrapped__" in target.__dict__
        code = target.__code__ if wrapper else target
        filename = inspect.getsourcefile(code)
        with _SOURCE_LOCK:
            if filename:
                _show_compiled_source(target, filename)
            return inspect.getsource(code)
    except (OSError, TypeError):
        return f"<no source: {getattr(target, '__qualname__', repr(target))}>"


def cache_source_lines(filename: str, source: bytes) -> list[str]:
    """Put the text of ``source`` (the bytes of ``filename`` a loader compiled) in
    :mod:`linecache`, so tracebacks and ``inspect.getsource`` show what was compiled even
    when an edit kept the file's size and modification time; return its lines.

    The entry lasts while the file keeps its size and modification time (for good when
    the file cannot be read), as the entries :mod:`linecache` reads itself do."""
    from importlib.util import decode_source  # (load time only)

    lines = io.StringIO(decode_source(source)).readlines()  # split at "\n" only, as linecache
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    with _SOURCE_LOCK:
        _put_lines(filename, lines)
    return lines


def _put_lines(filename: str, lines: list[str]) -> None:
    try:
        stat = os.stat(filename)
    except OSError:  # deleted since: keep the entry (linecache keeps those with no time)
        linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    else:
        linecache.cache[filename] = (stat.st_size, stat.st_mtime, lines, filename)


def _show_compiled_source(target: Any, filename: str) -> None:
    """Make :mod:`linecache` hold the source ``target`` was compiled from: the lines its
    module's loader kept (:func:`cache_source_lines`), else the file as it is now."""
    lines = _loaded_lines(target, filename)
    if lines is None:
        linecache.checkcache(filename)  # read what is on disk now, not a stale copy
    else:
        _put_lines(filename, lines)  # with the file's current signature: inspect keeps it


def _loaded_lines(target: Any, filename: str) -> list[str] | None:
    """The lines ``filename`` had when the loader of ``target``'s module compiled it, or
    ``None`` when that loader kept none (it is not a folder experiment's loader)."""
    namespace = _defining_namespace(target)
    spec = namespace.get("__spec__") if namespace is not None else None
    loader = attribute_of(spec, "loader")
    lines = attribute_of(loader, "source_lines")
    if isinstance(lines, list) and attribute_of(loader, "path") == filename:
        return lines
    return None


def _defining_namespace(target: Any) -> dict[str, Any] | None:
    """The globals of the module object that defined ``target``: a function's own, a
    class's through one of its methods (the module now imported under the class's module
    name may be a later load of the file), else that module's."""
    if inspect.isfunction(target):
        return target.__globals__
    if not inspect.isclass(target):
        return None
    name = target.__dict__.get("__module__")
    for member in vars(target).values():
        function = attribute_of(member, "__func__") or member  # staticmethod, classmethod
        if inspect.isfunction(function) and function.__module__ == name:
            return function.__globals__
    module = sys.modules.get(name) if isinstance(name, str) else None
    return vars(module) if module is not None else None


def _signature_of(filename: str | None) -> tuple[str, int, int] | None:
    """``(path, size, mtime)`` of ``filename``, or ``None`` when it cannot be read."""
    if not filename:
        return None
    try:
        stat = os.stat(filename)
    except OSError:
        return None
    return (filename, stat.st_size, stat.st_mtime_ns)


#: The signature of code whose source cannot change: compiled from no file (``exec``, the
#: REPL), or from a text its loader kept (a folder experiment's module).
_FIXED_SOURCE = ("<fixed source>", 0, 0)


def _file_signature(target: Any) -> tuple[str, int, int] | None:
    """``(path, size, mtime)`` of the file defining ``target``, :data:`_FIXED_SOURCE` for
    code from no file or from a kept text, ``None`` when unknown."""
    # Compiled functions (Cython's) may answer these with descriptors, not values.
    filename = getattr(getattr(target, "__code__", None), "co_filename", None)
    if not isinstance(filename, str):
        filename = None
    if filename is not None and compiled_from_no_file(filename):
        return _FIXED_SOURCE
    if filename is None:
        module = getattr(target, "__module__", None)
        filename = getattr(sys.modules.get(module) if isinstance(module, str) else None, "__file__", None)
    if isinstance(filename, str) and _loaded_lines(target, filename) is not None:
        return _FIXED_SOURCE
    return _signature_of(filename)


def _source_digest(target: Any) -> str:
    """A short digest of one function's or class's own source, taken when the object is
    first digested and kept while it runs the same compiled code; a function without
    source is digested from its compiled code.

    The source is read from the file then: a file edited later, without the module being
    reloaded, does not describe the code that runs, so it changes nothing here (a cache
    entry stored then holds the loaded code's output under the loaded code's key). A
    reload makes new objects, and a tool that swaps the code of a loaded function (IPython's
    ``%autoreload``) changes its :func:`_loaded_code`: both are digested afresh.
    """
    try:
        cached = _DIGESTS.get(target)
    except TypeError:  # not weak-referenceable: nothing to remember it by
        return _digest_text(target)
    code = _loaded_code(target)
    if cached is not None and cached[0] == code:
        return cached[1]
    digest = _digest_text(target)
    if _file_signature(target) is not None:  # where the source can be read (else: re-read)
        _DIGESTS[target] = (code, digest)
    return digest


def _loaded_code(target: Any) -> Any:
    """What ``target`` runs: a function's code object; for a class, the code objects of
    the functions in its own namespace (methods, static and class methods, properties)."""
    code = getattr(target, "__code__", None)
    if code is not None or not inspect.isclass(target):
        return code
    found = []
    for member in vars(target).values():
        for part in (member, attribute_of(member, "__func__"), attribute_of(member, "fget")):
            part_code = getattr(part, "__code__", None) if part is not None else None
            if part_code is not None:
                found.append(part_code)
    return tuple(found)


def _digest_text(target: Any) -> str:
    text = source_of(target)
    if text.startswith("<no source:") and inspect.isfunction(target):
        text = _code_text(target.__code__)  # e.g. made by exec(): its compiled code
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


#: How many wrapper objects :meth:`_Dependencies.code` follows through ``__wrapped__``,
#: one inside another: a proxy answering every attribute with a new proxy (``__wrapped__``
#: too) makes an endless chain.
WRAPPED_DEPTH = 16


#: Per thread, the ids of the closure values being digested (see
#: :meth:`_Dependencies.captured`): a value met again inside itself is not digested again.
_CAPTURED = threading.local()


#: ``{function: {closure variable: (value, content digest)}}``: the digest of a closure
#: value that is no plain value or code, taken the first time the function is digested
#: while the variable holds that object (a rebound variable is digested again).
_CLOSURE_DIGESTS: weakref.WeakKeyDictionary[Any, dict[str, tuple[Any, str]]] = weakref.WeakKeyDictionary()


def _remembered_closure_digest(fn: types.FunctionType, name: str, value: Any) -> str | None:
    """The digest :func:`_remember_closure_digest` kept for ``fn``'s variable ``name``
    holding ``value`` (this very object), else ``None``."""
    known = _CLOSURE_DIGESTS.get(fn, {}).get(name)
    return known[1] if known is not None and known[0] is value else None


def _remember_closure_digest(fn: types.FunctionType, name: str, value: Any, digest: str) -> None:
    """Keep the digest of ``fn``'s closure variable ``name`` holding ``value``."""
    _CLOSURE_DIGESTS.setdefault(fn, {})[name] = (value, digest)


def _is_code(value: Any) -> bool:
    """Whether :meth:`_Dependencies.code` digests ``value`` as code: a module, function,
    method, class, ``functools.partial``, or a step, datasource or resource factory."""
    if isinstance(value, types.ModuleType | functools.partial):
        return True
    if callable(value) and attribute_of(value, "__qualname__") is not None:
        return True
    return in_crystallize(type(value)) and callable(attribute_of(value, "fn"))


class _Dependencies:
    """Walks the user code an object depends on, collecting one text part per item:
    each function's and class's source digest, the plain values of the globals, default
    values and closure variables it reads, and the names of library callables it uses.

    Plain values of class and module attributes that the walked code assigns
    (``Counter.n += 1``, ``helpers.calls += 1``) are state, not code, and are left out,
    as globals the code assigns are (see :func:`_names_used`)."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._seen: set[int] = set()
        #: Attribute names the walked code assigns or deletes.
        self._assigned: set[str] = set()
        #: ``(index in _parts, attribute name)`` of the plain class and module attribute values.
        self._attribute_parts: list[tuple[int, str]] = []
        #: Ids of the objects whose held code :meth:`_held` followed, and how deep it is.
        self._holders: set[int] = set()
        self._holder_depth = 0
        #: How many wrapper objects' ``__wrapped__`` are being followed, one in another.
        self._wrapped_depth = 0

    @property
    def parts(self) -> list[str]:
        """The collected parts, without the values of attributes the walked code assigns."""
        dropped = {index for index, name in self._attribute_parts if name in self._assigned}
        return [part for index, part in enumerate(self._parts) if index not in dropped]

    def value(self, label: str, value: Any, attribute: str | None = None) -> None:
        """A value the code reads (a global, a default, a closure variable...), or the
        ``attribute`` of a class or module (left out when the walked code assigns it)."""
        token = plain_token(value)
        if token is not None:
            if attribute is not None:
                self._attribute_parts.append((len(self._parts), attribute))
            self._parts.append(f"{label}={token}")
            if isinstance(value, Enum) and is_user_class(type(value)):  # its methods too
                self.code(f"{label}.__class__", type(value))
        else:
            self.code(label, value)

    def captured(self, label: str, fn: types.FunctionType, name: str, value: Any) -> None:
        """Closure variable ``name`` of ``fn``: the value a factory made the function with
        counts like a parameter of it, whatever its type (``make_step(weights)``): by
        content (:func:`~crystallize.fingerprint.param_digest`), code by code. A value that
        cannot be digested counts as :meth:`value` does (its class's code, if the user's).

        The content digest is taken once per function and value object (see
        :data:`_CLOSURE_DIGESTS`): a list the function appends to as it runs (results it
        collects) does not make its code look changed during a run."""
        if plain_token(value) is not None or _is_code(value):
            self.value(label, value)
            return
        remembered = _remembered_closure_digest(fn, name, value)
        if remembered is not None:
            self._parts.append(f"{label}=#{remembered}")
            return
        active = getattr(_CAPTURED, "ids", None)
        if active is None:
            active = _CAPTURED.ids = set()
        if id(value) in active:  # a value holding the function that captures it
            self._parts.append(f"{label}->seen")
            return
        from crystallize.fingerprint import param_digest  # (it imports this module)

        active.add(id(value))
        try:
            digest = param_digest(value)
        finally:
            active.discard(id(value))
        if digest is None:
            self.value(label, value)
        else:
            _remember_closure_digest(fn, name, value, digest)
            self._parts.append(f"{label}=#{digest}")

    def code(self, label: str, obj: Any) -> None:
        """Follow ``obj`` if it is (or wraps) user code; name it if it is a library callable."""
        if id(obj) in self._seen:
            self._parts.append(f"{label}->seen")
            return
        if isinstance(obj, functools.partial):
            self._seen.add(id(obj))
            self.code(f"{label}.func", obj.func)
            self.value(f"{label}.args", obj.args)
            for key, item in sorted(obj.keywords.items()):
                self.value(f"{label}.{key}", item)
        elif inspect.ismethod(obj):
            self.code(label, obj.__func__)
        elif is_user_function(obj):
            self._function(label, obj)
        elif is_user_class(obj):
            self._class(label, obj)
        elif callable(obj) and callable(attribute_of(obj, "__wrapped__")):  # a library wrapper
            self._parts.append(f"{label}->{qualified_name(obj)}")
            if self._wrapped_depth < WRAPPED_DEPTH:  # a proxy may answer any attribute anew
                self._wrapped_depth += 1
                try:
                    self.code(f"{label}.__wrapped__", attribute_of(obj, "__wrapped__"))
                finally:
                    self._wrapped_depth -= 1
            if is_user_class(type(obj)):  # functools.update_wrapper(self, fn) in a decorator class
                self.code(f"{label}.__class__", type(obj))
            self._held(label, obj, wrapped=False)  # singledispatch's registered implementations
        elif in_crystallize(type(obj)) and callable(attribute_of(obj, "fn")):
            self.code(f"{label}.fn", obj.fn)  # a step, datasource or resource factory
        elif callable(obj) and attribute_of(obj, "__qualname__") is not None:  # library function or class
            self._parts.append(f"{label}->{qualified_name(obj)}")
            if not isinstance(obj, type):  # a library function, or an object named like one
                if is_user_class(type(obj)):
                    self.code(f"{label}.__class__", type(obj))
                self._held(label, obj)
        elif is_user_class(type(obj)):  # an instance: its class's code, and the code it holds
            self.code(f"{label}.__class__", type(obj))
            self._held(label, obj)
        elif may_hold_code(obj):  # a library wrapper object (numpy.vectorize, singledispatchmethod)
            self._held(label, obj)
        # Anything else (a library module, an array...) is not followed.

    def _held(self, label: str, obj: Any, *, wrapped: bool = True) -> None:
        """Follow the user code ``obj`` (a wrapper object, an instance of a user class, a
        library function) holds: see :func:`held_code`. Each object once per walk, and
        no deeper than :data:`HOLDER_DEPTH` objects directly inside one another."""
        if id(obj) in self._holders or self._holder_depth >= HOLDER_DEPTH:
            return
        self._holders.add(id(obj))
        self._holder_depth += 1
        try:
            for name, item in held_code(obj, wrapped=wrapped):
                self.code(f"{label}.{name}", item)
        finally:
            self._holder_depth -= 1

    def _function(self, label: str, fn: types.FunctionType) -> None:
        depth, self._holder_depth = self._holder_depth, 0  # objects it reads start afresh
        try:
            self._function_parts(label, fn)
        finally:
            self._holder_depth = depth

    def _function_parts(self, label: str, fn: types.FunctionType) -> None:
        self._seen.add(id(fn))
        self._parts.append(f"{label}:def {fn.__qualname__}:{_source_digest(fn)}")
        code = fn.__code__
        globals_read, names = _names_used(code)
        self._assigned.update(_attributes_assigned(code))
        namespace = fn.__globals__
        modules = []
        for name in globals_read:
            if name in namespace:
                self._global(f"{label}.{name}", namespace[name], modules)
        for module in modules_imported(code, namespace):  # import ... inside the function
            if module not in modules:
                modules.append(module)
        for module in modules:  # user modules it uses: the attributes it may read
            attributes = vars(module)
            for name in names:
                if name in attributes:
                    where = f"{portable_module_name(module.__name__)}.{name}"
                    self._global(where, attributes[name], modules, attribute=name)
        for i, default in enumerate(fn.__defaults__ or ()):
            self.value(f"{label}.default[{i}]", default)
        for name, default in sorted((fn.__kwdefaults__ or {}).items()):
            self.value(f"{label}.default[{name}]", default)
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self.captured(f"{label}.{name}", fn, name, contents)
        wrapped = fn.__dict__.get("__wrapped__")
        if wrapped is not None:
            self.code(f"{label}.__wrapped__", wrapped)

    def _global(
        self, label: str, value: Any, modules: list[types.ModuleType], attribute: str | None = None
    ) -> None:
        if isinstance(value, types.ModuleType):
            if value not in modules and is_user_module(value):
                modules.append(value)
        else:
            self.value(label, value, attribute)

    def _class(self, label: str, cls: type) -> None:
        self._seen.add(id(cls))
        self._parts.append(f"{label}:class {cls.__qualname__}:{_source_digest(cls)}")
        for base in cls.__mro__[1:]:
            if is_user_class(base):
                self.code(f"{label}.base", base)
        generated = self._generated_members(label, cls)
        for name, attribute in vars(cls).items():
            if name in generated and not _written_in_a_file(attribute):
                continue
            if isinstance(attribute, staticmethod | classmethod):
                attribute = attribute.__func__
            if isinstance(attribute, property):
                for accessor in (attribute.fget, attribute.fset, attribute.fdel):
                    if accessor is not None:
                        self.code(f"{label}.{name}", accessor)
            elif not (name.startswith("__") and name.endswith("__")) or inspect.isfunction(attribute):
                self.value(f"{label}.{name}", attribute, attribute=name)

    def _generated_members(self, label: str, cls: type) -> frozenset[str]:
        """The names of the members that ``@dataclass`` or ``namedtuple`` may have
        generated for ``cls`` (none for other classes), after adding a part for what
        they are generated from: the fields, their defaults and the options.

        The generated methods are compiled from text without a file, so only their
        bytecode could be digested, and it differs between Python versions (as do the
        helpers each version adds, such as 3.13's ``__replace__``)."""
        attributes = vars(cls)
        if "__dataclass_fields__" in attributes:
            from dataclasses import MISSING  # (already imported: it made the class)

            params = attributes.get("__dataclass_params__")
            options = ",".join(f"{name}={getattr(params, name, None)!r}" for name in _DATACLASS_OPTIONS)
            self._parts.append(f"{label}:dataclass({options})")
            for name, field in attributes["__dataclass_fields__"].items():
                kind = getattr(getattr(field, "_field_type", None), "name", None)  # field, ClassVar, InitVar
                kw_only = getattr(field, "kw_only", None) is True  # MISSING for a ClassVar
                flags = (kind, field.init, field.repr, field.compare, field.hash, kw_only)
                self._parts.append(f"{label}.field {name}:{flags!r}")
                if field.default is not MISSING:
                    self.value(f"{label}.field {name}.default", field.default)
                if field.default_factory is not MISSING:
                    self.code(f"{label}.field {name}.default_factory", field.default_factory)
            return _DATACLASS_MEMBERS
        if issubclass(cls, tuple) and isinstance(attributes.get("_fields"), tuple):
            for name, default in dict(attributes.get("_field_defaults") or {}).items():
                self.value(f"{label}.field {name}.default", default)
            return _NAMEDTUPLE_MEMBERS
        return frozenset()


#: The options of ``@dataclass`` every supported Python version records.
_DATACLASS_OPTIONS = ("init", "repr", "eq", "order", "unsafe_hash", "frozen")
#: Members ``@dataclass`` may add to a class (by Python version and options).
_DATACLASS_MEMBERS = frozenset(
    {
        "__init__", "__repr__", "__eq__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__",
        "__setattr__", "__delattr__", "__replace__", "__getstate__", "__setstate__", "__match_args__",
    }
)
#: Members ``collections.namedtuple`` adds (``_fields`` and the defaults are digested).
_NAMEDTUPLE_MEMBERS = frozenset(
    {
        "__new__", "_make", "_replace", "__replace__", "__repr__", "_asdict", "__getnewargs__",
        "__match_args__", "_field_defaults",
    }
)


def _written_in_a_file(member: Any) -> bool:
    """Whether a class member is (or wraps) a user function compiled from a file or a
    notebook cell, not from text made at run time (``exec``, which ``@dataclass`` and
    ``namedtuple`` use: filename ``<string>``)."""
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    if isinstance(member, property):
        member = member.fget
    try:
        member = inspect.unwrap(member) if callable(member) else member
    except ValueError:  # a cycle of __wrapped__
        return False
    return is_user_function(member) and member.__code__.co_filename != "<string>"


def _code_text(code: types.CodeType) -> str:
    """A stable text form of compiled code (for functions without source; ``marshal``
    output varies between processes)."""
    consts = [_code_text(c) if isinstance(c, types.CodeType) else plain_token(c) or repr(c) for c in code.co_consts]
    fields = (code.co_code.hex(), code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)
    return repr((code.co_argcount, code.co_kwonlyargcount, code.co_flags, *fields, consts))


#: The opcodes reading a global by name: in a function, in a class body or module-level
#: code, and (Python 3.12+) in a class body or annotation scope that may see a dict first.
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
#: Module attributes telling where a module lives, not what it runs (a folder
#: experiment's modules hold their folder's path there: a moved folder keeps its digests).
_MODULE_LOCATION = frozenset({"__name__", "__file__", "__package__", "__cached__"})


@functools.lru_cache(maxsize=4096)
def _names_used(code: types.CodeType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(globals, names)`` of ``code`` and the code nested in it: the global names it
    reads, and every name it uses, attribute names too (``helpers.CONST`` reads ``CONST``
    from the user module ``helpers``; ``model.C`` does not read the global ``C``). Both
    leave out the globals it assigns (``global _MODEL; _MODEL = load()`` is state, not
    code) and :data:`_MODULE_LOCATION`, and are in name order: the order of the compiled
    code's names differs between Python versions (3.12 compiles comprehensions inline),
    the digests must not."""
    import dis  # (imported once it is needed: this module is on the import path)

    read: set[str] = set()
    assigned: set[str] = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_LOADS:
            read.add(instruction.argval)
        elif instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            assigned.add(instruction.argval)
    read -= assigned | _MODULE_LOCATION
    names = set(code.co_names) - assigned - _MODULE_LOCATION
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            nested_read, nested_names = _names_used(const)
            read.update(nested_read)
            names.update(nested_names)
    return tuple(sorted(read)), tuple(sorted(names))


@functools.lru_cache(maxsize=4096)
def _attributes_assigned(code: types.CodeType) -> frozenset[str]:
    """The attribute names ``code`` and the code nested in it assign or delete
    (``Counter.n += 1``, ``self.cache = {}``): their values are state, not code."""
    import dis

    opcodes = code.co_code[::2]  # cheaper than dis
    assigned: set[str] = set()
    if dis.opmap["STORE_ATTR"] in opcodes or dis.opmap["DELETE_ATTR"] in opcodes:
        assigned.update(
            instruction.argval
            for instruction in dis.get_instructions(code)
            if instruction.opname in ("STORE_ATTR", "DELETE_ATTR")
        )
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            assigned.update(_attributes_assigned(const))
    return frozenset(assigned)


def code_hash(obj: Any) -> str:
    """A short digest of the code ``obj`` (a step, datasource, function or class) runs.

    It covers the object's own source and, followed recursively, the user code it
    references by global name or imports inside a function body (functions, classes and
    their methods, user modules' attributes, functions a decorator wraps, and the user
    code a callable object holds: see :func:`held_code`): their
    sources, the immutable plain values (numbers of any type, strings, bytes, ``None``,
    enum members, dates, tuples and frozensets of them: see :func:`plain_token`) of the
    globals and defaults they read, the values of their closure variables (any type, by
    content, once per function and object: see :meth:`_Dependencies.captured`), and
    which library functions and classes they use. Library code (the standard library, site-packages, Crystallize) is named,
    not followed; mutable or other objects a global holds (a dict, an array, a model)
    are not covered, except the code of a user-defined instance's class and the
    functions it holds. Globals and
    class or module attributes the followed code assigns (``global _MODEL``,
    ``Counter.n += 1``) are state, not code: their values are not covered. Sources are
    read once and remembered until their file changes (a folder experiment's modules:
    the text each load compiled, for good); the rest is looked up live, so a
    reassigned global or a reloaded helper module is noticed. A self-contained function
    keeps the digest of its own source. Methods generated by ``@dataclass`` and
    ``namedtuple`` count by what they are made from (the fields, their defaults and
    factories, the options), so the digest is the same under every Python version.
    """
    if isinstance(obj, functools.partial):
        target: Any = obj
    else:
        target = _code_target(obj)
        target = target.__func__ if inspect.ismethod(target) else target
    walk = _Dependencies()
    walk.code("", target)
    parts = walk.parts
    if len(parts) <= 1:  # self-contained, or library code (a built-in step class)
        return _source_digest(target)
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


__all__ = [
    "DECIMAL_DIGITS",
    "cache_source_lines",
    "code_hash",
    "decimal_bound",
    "fits_decimal",
    "set_token",
    "source_of",
]
