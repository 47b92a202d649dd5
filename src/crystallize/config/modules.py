"""Importing an experiment folder's Python modules, fresh, under stable names.

The modules beside a ``config.yaml`` (``datasources.py``, ``steps.py``,
``verifiers.py``, ``outputs.py``) are imported from that folder only, by file path,
never through ``sys.path``. Each folder becomes a package named after its absolute
path::

    crystallize.config._folders.<token>            the folder (token encodes its path)
    crystallize.config._folders.<token>.steps      its steps.py

The name is deterministic, so worker processes (process and Ray execution) re-import the
same module by name when they unpickle a step: a finder installed by
``crystallize.config._folders`` decodes the token back to the folder. Modules in one
folder may import each other relatively (``from .outputs import to_json``).

Every load re-executes the files (:func:`load_folder_modules` drops the old modules
first) and never reads or writes ``__pycache__``, so an edited file is always picked up.
"""

from __future__ import annotations

import base64
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import traceback
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_PREFIX = "crystallize.config._folders"
#: The module files a folder experiment may have, in import order.
MODULE_FILES = ("outputs", "datasources", "steps", "verifiers")
_TOKEN_MARK = "p"


def folder_token(folder: str | Path) -> str:
    """The identifier encoding ``folder``'s absolute path (reversible: :func:`token_folder`)."""
    raw = os.fsencode(Path(folder).resolve())  # the path's bytes: any name the file system allows
    return _TOKEN_MARK + base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def token_folder(token: str) -> Path | None:
    """The folder encoded by :func:`folder_token`, or ``None`` for a foreign name."""
    if not token.startswith(_TOKEN_MARK):
        return None
    body = token[len(_TOKEN_MARK):].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
        return Path(os.fsdecode(raw))
    except (ValueError, UnicodeDecodeError):
        return None


def package_name(folder: str | Path) -> str:
    """The package name the modules of ``folder`` are imported under."""
    return f"{PACKAGE_PREFIX}.{folder_token(folder)}"


#: What :func:`portable_module_name` writes in place of a folder's token.
FOLDER_PLACEHOLDER = "<folder>"


def portable_module_name(name: str) -> str:
    """``name`` with a folder package's token replaced by :data:`FOLDER_PLACEHOLDER`
    (``crystallize.config._folders.<folder>.steps``); other names as they are.

    Digests name a folder's modules this way, so a folder moved or copied to another
    path (another machine, a colleague's clone) keeps its fingerprint and step cache
    entries. Modules are still imported (and pickled to workers) by their real name.
    """
    if not name.startswith(PACKAGE_PREFIX + "."):
        return name
    _token, dot, rest = name[len(PACKAGE_PREFIX) + 1:].partition(".")
    return f"{PACKAGE_PREFIX}.{FOLDER_PLACEHOLDER}{dot}{rest}"


class FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """A source loader that compiles the file every time and never touches ``__pycache__``.

    Byte-code caches store the source's modification time in whole seconds, so an edit
    made within the same second could otherwise be ignored. The text compiled is kept
    (:attr:`source_lines`), so code digests describe the code that runs, also after an
    edit that kept the file's size and modification time and after an edit made since
    the load; it is put in :mod:`linecache` too, so tracebacks and ``inspect.getsource``
    show it until the file's size or modification time changes.

    Attributes:
        source_lines: the lines of the text the module was compiled from (``None``
            before it is).
    """

    source_lines: list[str] | None = None

    def get_code(self, fullname: str) -> types.CodeType:
        """Compile the current source of the module, keeping its text."""
        from crystallize.code_digest import cache_source_lines

        path = self.get_filename(fullname)
        source = self.get_data(path)
        code = self.source_to_code(source, path)
        self.source_lines = cache_source_lines(path, source)
        return code


class _FolderPackageLoader(importlib.abc.Loader):
    """Creates the (empty) package module that stands for an experiment folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"Python modules of the folder experiment in {self.folder}"


class FolderFinder(importlib.abc.MetaPathFinder):
    """Finds ``crystallize.config._folders.<token>[.<module>]`` in the folder the token encodes."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The spec of a folder package or of a module file directly inside the folder."""
        if not fullname.startswith(PACKAGE_PREFIX + "."):
            return None
        parts = fullname[len(PACKAGE_PREFIX) + 1:].split(".")
        folder = token_folder(parts[0])
        if folder is None or len(parts) > 2:
            return None  # deeper names: the standard finders search the package __path__
        if len(parts) == 1:
            spec = importlib.machinery.ModuleSpec(fullname, _FolderPackageLoader(folder), is_package=True)
            spec.submodule_search_locations = [str(folder)]
            return spec
        file = folder / f"{parts[1]}.py"
        if not file.is_file():
            return None
        return module_spec(fullname, file)


def module_spec(fullname: str, file: Path) -> importlib.machinery.ModuleSpec:
    """A spec importing ``file`` as ``fullname`` with :class:`FreshSourceLoader`."""
    loader = FreshSourceLoader(fullname, str(file))
    spec = importlib.util.spec_from_file_location(fullname, file, loader=loader)
    assert spec is not None
    return spec


_FINDER = FolderFinder()


def install_finder() -> None:
    """Put the folder finder first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(f, FolderFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)


@dataclass
class FolderModules:
    """The freshly imported modules of one experiment folder (``None`` when a file is absent).

    Attributes:
        folder: the experiment folder.
        package: the package name the modules live under.
        modules: ``{"steps": module or None, ...}`` for every name in :data:`MODULE_FILES`.
    """

    folder: Path
    package: str
    modules: dict[str, types.ModuleType | None]

    def get(self, name: str) -> types.ModuleType | None:
        """The module ``name`` (``"steps"``...), or ``None`` when the folder has no such file."""
        return self.modules.get(name)


def load_folder_modules(folder: str | Path) -> FolderModules:
    """Import (again) the Python modules of an experiment folder.

    Any modules of the folder imported earlier are dropped from ``sys.modules`` first,
    so every file is executed afresh.

    Args:
        folder: the experiment folder.

    Returns:
        The modules found (files that do not exist map to ``None``).

    Raises:
        ModuleImportError: a module raised while it was imported (including a
            ``SyntaxError``), or exited (``SystemExit`` from ``sys.exit()`` or a
            module-level ``argparse`` ``parse_args()``); the message names the file and
            the line, and the original exception is the ``__cause__``.
            ``KeyboardInterrupt`` is not caught.
    """
    import crystallize.config._folders  # noqa: F401  (installs the finder)
    from crystallize.config.errors import ModuleImportError

    folder = Path(folder).resolve()
    package = package_name(folder)
    forget_folder_modules(folder)
    parent = importlib.import_module(package)
    modules: dict[str, types.ModuleType | None] = {}
    for stem in MODULE_FILES:
        fullname = f"{package}.{stem}"
        if fullname in sys.modules:  # already imported by a sibling's relative import
            modules[stem] = sys.modules[fullname]
            continue
        file = folder / f"{stem}.py"
        if not file.is_file():
            modules[stem] = None
            continue
        spec = module_spec(fullname, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[fullname] = module
        try:
            assert spec.loader is not None
            spec.loader.exec_module(module)
        except BaseException as exc:
            sys.modules.pop(fullname, None)
            if not isinstance(exc, Exception | SystemExit):
                raise  # KeyboardInterrupt and friends stop the whole program
            raise ModuleImportError(file, _import_message(file, exc)) from exc
        setattr(parent, stem, module)
        modules[stem] = module
    return FolderModules(folder, package, modules)


def forget_folder_modules(folder: str | Path) -> None:
    """Drop every module of ``folder`` from ``sys.modules`` (the next import re-executes)."""
    package = package_name(folder)
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _import_message(file: Path, exc: Exception | SystemExit) -> str:
    """The :class:`ModuleImportError` message: file, line, and what went wrong."""
    from crystallize.config.errors import display_path

    line = None
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == file:
        line = exc.lineno
    else:
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if Path(frame.f_code.co_filename).resolve() == file:
                line = lineno  # the deepest frame in the file
    where = f"{display_path(file)}" + (f", line {line}" if line is not None else "")
    if isinstance(exc, SystemExit):
        return (
            f"{where}: the module {exit_description(exc)} while being imported (sys.exit(), "
            "exit() or argparse's parse_args() ran at module level, so script code ran on "
            "import). Put script code under 'if __name__ == \"__main__\":' so it runs only "
            "when the file is executed directly, not when Crystallize imports it."
        )
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"{where}: importing the module failed with {type(exc).__name__}: {detail}"


def exit_description(exc: SystemExit) -> str:
    """What a ``SystemExit`` did, in words: ``"exited with status 2"``.

    ``sys.exit()`` and ``sys.exit(None)`` mean status 0; a non-integer argument (a
    message) means status 1 and the message is quoted.
    """
    code = exc.code
    if code is None:
        return "exited with status 0"
    if isinstance(code, int):
        return f"exited with status {int(code)}"
    return f"exited with status 1 (sys.exit({code!r}))"


# -- what a module defines ----------------------------------------------------------------
def step_factories(module: types.ModuleType | None) -> dict[str, Any]:
    """``{name: factory}``: ``@pipeline_step`` factories and PipelineStep subclasses in ``module``."""
    from crystallize.pipeline_step import FunctionStep, PipelineStep

    return _members(module, "__crystallize_step__", PipelineStep, (PipelineStep, FunctionStep))


def datasource_factories(module: types.ModuleType | None) -> dict[str, Any]:
    """``{name: factory}``: ``@data_source`` factories and DataSource subclasses in ``module``."""
    from crystallize.datasource import DataSource, FunctionDataSource

    return _members(module, "__crystallize_datasource__", DataSource, (DataSource, FunctionDataSource))


def verifier_factories(module: types.ModuleType | None) -> dict[str, Any]:
    """``{name: factory}``: the ``@verifier`` factories in ``module``."""
    return _members(module, "__crystallize_verifier__", None, ())


def plain_functions(module: types.ModuleType | None) -> dict[str, Any]:
    """``{name: function}``: public functions of ``module`` (loaders, writers, rankers)."""
    if module is None:
        return {}
    return {
        name: value
        for name, value in vars(module).items()
        # builtins too: ``from pickle import loads`` is a C function, not a FunctionType
        if not name.startswith("_") and isinstance(value, (types.FunctionType, types.BuiltinFunctionType))
    }


def _members(
    module: types.ModuleType | None, marker: str, base: type | None, excluded: tuple[type, ...]
) -> dict[str, Any]:
    if module is None:
        return {}
    found = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if (
            getattr(value, marker, None) is not None
            or base is not None
            and isinstance(value, type)
            and issubclass(value, base)
            and value not in excluded
        ):
            found[name] = value
    return found


__all__ = [
    "FOLDER_PLACEHOLDER",
    "MODULE_FILES",
    "PACKAGE_PREFIX",
    "FolderFinder",
    "FolderModules",
    "FreshSourceLoader",
    "datasource_factories",
    "exit_description",
    "folder_token",
    "forget_folder_modules",
    "install_finder",
    "load_folder_modules",
    "module_spec",
    "package_name",
    "plain_functions",
    "portable_module_name",
    "step_factories",
    "token_folder",
    "verifier_factories",
]
