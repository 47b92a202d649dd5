"""Python modules written into a temporary directory for tests that edit code and check
what the digests, cache keys and fingerprints make of the edit."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType


class TempModules:
    """Writes modules into ``root`` (on ``sys.path``) under names unique to the test.

    Args:
        root: the directory the modules are written to.
        fresh: ``True`` imports a module anew on every :meth:`load` (a new module object,
            as a new process sees it); ``False`` reloads one already imported (as
            ``importlib.reload`` or ``%autoreload`` do in a notebook).
    """

    def __init__(self, root: Path, *, fresh: bool) -> None:
        self.root = root
        self.fresh = fresh
        self.suffix = uuid.uuid4().hex[:8]

    def name(self, stem: str) -> str:
        """The module name ``stem`` is written under."""
        return f"{stem}_{self.suffix}"

    def write(self, stem: str, text: str) -> None:
        """Write (or rewrite) a module's file with a newer modification time; with
        ``fresh``, the module is also forgotten, so the next import reads the edit."""
        path = self.root / f"{self.name(stem)}.py"
        previous = path.stat().st_mtime_ns if path.exists() else None
        path.write_text(textwrap.dedent(text).replace("{suffix}", self.suffix))
        if previous is not None:
            os.utime(path, ns=(previous + 10**9, previous + 10**9))
        if self.fresh:
            sys.modules.pop(self.name(stem), None)
        importlib.invalidate_caches()

    def load(self, stem: str, text: str | None = None) -> ModuleType:
        """Import the module (writing it first when ``text`` is given): anew with
        ``fresh``, else by reloading it when it was imported already."""
        if text is not None:
            self.write(stem, text)
        name = self.name(stem)
        if self.fresh:
            sys.modules.pop(name, None)
        elif name in sys.modules:
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)

    def forget(self) -> None:
        """Remove every module of this test from ``sys.modules``."""
        for name in [name for name in sys.modules if name.endswith(f"_{self.suffix}")]:
            sys.modules.pop(name, None)


def temp_modules(tmp_path: Path, monkeypatch, *, fresh: bool) -> Iterator[TempModules]:
    """The body of a ``modules`` fixture: modules under ``tmp_path``, forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = TempModules(tmp_path, fresh=fresh)
    yield modules
    modules.forget()
