"""Which code is the user's, and how digests name it.

:mod:`crystallize.code_digest` follows the user's functions, classes and modules and
only names library code (the standard library, installed packages, Crystallize): the
predicates here tell them apart by the file the code comes from. They also resolve the
modules an ``import`` statement inside a function binds, and give the names digests
write (the same wherever a folder experiment's folder is).
"""

from __future__ import annotations

import functools
import os
import sys
import types
from typing import Any


def compiled_from_no_file(filename: str) -> bool:
    """``<string>``, ``<stdin>``, ``<ipython-input-...>``; not ``<frozen os>``."""
    return filename.startswith("<") and not filename.startswith("<frozen")


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    """Directories holding library code: the standard library, site-packages, Crystallize."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    dirs.update(site.getsitepackages())
    dirs.add(site.getusersitepackages())
    dirs.add(os.path.dirname(__file__))  # crystallize itself, even installed editable
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs if d)


@functools.lru_cache(maxsize=4096)
def is_user_file(filename: str | None) -> bool:
    """Whether code from ``filename`` is the user's (followed by :func:`code_hash`): not
    the standard library, an installed package or Crystallize. Code without a file
    (``<string>``, ``<stdin>``, a notebook cell) is the user's; frozen modules are not."""
    if not filename or filename.startswith("<frozen"):
        return False
    if compiled_from_no_file(filename):
        return True
    return not os.path.realpath(filename).startswith(_library_dirs())


def is_user_function(obj: Any) -> bool:
    """True for a plain Python function whose code is the user's (see :func:`is_user_file`):
    its digest follows its source, not its name."""
    return isinstance(obj, types.FunctionType) and is_user_file(obj.__code__.co_filename)


def is_user_class(obj: Any) -> bool:
    """True for a class defined in ``__main__`` or in one of the user's modules (not the
    standard library, an installed package or Crystallize)."""
    if not isinstance(obj, type):
        return False
    name = obj.__dict__.get("__module__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    return module is not None and (name == "__main__" or is_user_module(module))


def attribute_of(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``, also when looking it up fails otherwise (a proxy)."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def is_user_module(module: types.ModuleType) -> bool:
    location = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", ()) or ()), None)
    return is_user_file(location)


@functools.lru_cache(maxsize=4096)
def _imports_in(code: types.CodeType) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """``(module, level, names)`` of each ``import`` statement in ``code`` and the code
    nested in it: ``from ..pkg import a, b`` is ``("pkg", 2, ("a", "b"))``, ``import a.b``
    is ``("a.b", 0, ())``."""
    import dis

    found: list[tuple[str, int, tuple[str, ...]]] = []
    if dis.opmap["IMPORT_NAME"] in code.co_code[::2]:  # cheaper than dis
        previous: list[Any] = [None, None]
        for instruction in dis.get_instructions(code):
            if instruction.opname == "IMPORT_NAME":
                level, names = previous  # pushed just before: the level and the from-list
                level = level if type(level) is int else 0
                names = tuple(n for n in names if isinstance(n, str) and n != "*") if type(names) is tuple else ()
                found.append((instruction.argval, level, names))
            previous = [previous[1], instruction.argval]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.extend(_imports_in(const))
    return tuple(found)


def modules_imported(code: types.CodeType, namespace: dict[str, Any]) -> list[types.ModuleType]:
    """The user modules the ``import`` statements inside ``code`` bind (see
    :func:`_user_module_named`): the module itself, and the submodules a ``from`` import
    names that are no attribute of it (yet)."""
    found: list[types.ModuleType] = []
    for name, level, names in _imports_in(code):
        full = _absolute_module_name(name, level, namespace)
        module = _user_module_named(full) if full else None
        if module is None:
            continue
        found.append(module)
        attributes = vars(module)
        for item in names:
            if item not in attributes:
                submodule = _user_module_named(f"{full}.{item}")
                if submodule is not None:
                    found.append(submodule)
    return found


def _absolute_module_name(name: str, level: int, namespace: dict[str, Any]) -> str | None:
    """The absolute name of the module ``import`` statement names (``from ..pkg import``:
    ``name`` "pkg", ``level`` 2) in the module of ``namespace``; ``None`` when a relative
    import cannot be resolved there."""
    if not level:
        return name
    package = namespace.get("__package__")
    if not isinstance(package, str):
        module_name = namespace.get("__name__")
        if not isinstance(module_name, str):
            return None
        package = module_name if "__path__" in namespace else module_name.rpartition(".")[0]
    from importlib.util import resolve_name

    try:
        return resolve_name("." * level + name, package)
    except (ImportError, ValueError):
        return None


def _user_module_named(name: str) -> types.ModuleType | None:
    """The user module (see :func:`is_user_file`) called ``name``, imported now if it is
    not yet (as a function importing it when it runs would); ``None`` for a library
    module (never imported here) or one that cannot be imported.

    A module that is not imported is looked up from its nearest imported parent package
    (imported only when that is the user's) or, without one, by the top-level name's
    location on the import path: a library is never imported to find out."""
    module = sys.modules.get(name)
    if module is None:
        ancestor = name
        while "." in ancestor:
            ancestor = ancestor.rpartition(".")[0]
            parent = sys.modules.get(ancestor)
            if parent is not None:
                if not is_user_module(parent):
                    return None
                break
        else:  # nothing of it imported: where would its top-level package come from?
            import importlib.util

            try:
                spec = importlib.util.find_spec(ancestor)
            except Exception:  # a broken finder, an odd name: not followed
                return None
            location = spec.origin if spec is not None and spec.has_location else None
            if spec is not None and location is None:  # a namespace package
                location = next(iter(spec.submodule_search_locations or ()), None)
            if not is_user_file(location):
                return None
        import importlib

        try:
            module = importlib.import_module(name)
        except Exception:  # the step itself would fail importing it
            return None
    return module if isinstance(module, types.ModuleType) and is_user_module(module) else None


def qualified_name(obj: Any) -> str:
    """``module.qualname`` of ``obj`` as digests name it: a folder experiment's module by
    its place in the folder, not by the folder's path (see :func:`portable_module_name`)."""
    module = portable_module_name(getattr(obj, "__module__", None))
    return f"{module}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def portable_module_name(name: Any) -> Any:
    """A module name as digests write it: the same wherever a folder experiment's folder
    is (:func:`crystallize.config.modules.portable_module_name`); others as they are."""
    folders = sys.modules.get("crystallize.config.modules")  # not imported: no folder modules
    if folders is None or not isinstance(name, str):
        return name
    return folders.portable_module_name(name)


def in_crystallize(kind: type) -> bool:
    """True for a class of this package (a Cython type's ``__module__`` may not even be
    a string: ``numpy.random.seed``'s type has a descriptor there)."""
    module = getattr(kind, "__module__", None)
    return isinstance(module, str) and module.startswith("crystallize.")


__all__ = [
    "attribute_of",
    "compiled_from_no_file",
    "in_crystallize",
    "is_user_class",
    "is_user_file",
    "is_user_function",
    "is_user_module",
    "modules_imported",
    "portable_module_name",
    "qualified_name",
]
