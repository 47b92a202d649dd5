"""Config errors that point at a file, a field and (when known) a line.

Every problem found in a ``config.yaml`` (or in the Python modules beside it) is a
:class:`Problem`; they are raised together as one :class:`ConfigValidationError`, a
:class:`~crystallize.exceptions.ConfigError`, so users see every mistake at once::

    experiments/demo/config.yaml: steps[1]: no step named 'add_delt' in steps.py; did you mean 'add_delta'? (line 9)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crystallize.exceptions import ConfigError
from crystallize.utils.text import did_you_mean


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when it lies inside it, else absolute."""
    target = Path(path)
    try:
        return str(target.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(target)


#: File and folder name, and whole path, limits (in bytes) when the OS does not say.
DEFAULT_NAME_MAX = 255
DEFAULT_PATH_MAX = 4096


def path_limits(path: str | os.PathLike[str] = ".") -> tuple[int, int]:
    """``(longest file or folder name, longest path)`` in bytes on the file system that
    holds ``path`` (its nearest existing folder), or the usual limits when unknown."""
    folder = Path(path)
    try:
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (AttributeError, ValueError, OSError):  # no pathconf (Windows), or not known
        return DEFAULT_NAME_MAX, DEFAULT_PATH_MAX


def path_problem(value: str) -> str | None:
    """Why the text ``value`` cannot be a path on this system (it holds a NUL byte, or it
    or one of its file or folder names is too long), else ``None``. The words follow the
    value quoted, e.g. ``f"root_dir {quoted_path(v)} {path_problem(v)}."``."""
    if "\0" in value:
        return "holds a NUL byte, which no path can contain"
    try:
        encoded = os.fsencode(value)
    except UnicodeError:  # not encodable: the OS says what is wrong
        return None
    separators = {os.sep, os.altsep or os.sep}
    for separator in separators - {"/"}:
        encoded = encoded.replace(os.fsencode(separator), b"/")
    name_max, path_max = path_limits(os.fsdecode(encoded.rsplit(b"/", 1)[0] or b"."))
    longest = max(len(part) for part in encoded.split(b"/"))
    if longest > name_max:
        return f"is too long: a file or folder name can have at most {name_max} bytes"
    if len(encoded) >= path_max:
        return f"is too long: a path can have at most {path_max - 1} bytes"
    return None


def quoted_path(value: str, width: int = 40) -> str:
    """``value`` quoted for a message; a long one is cut to its first ``width``
    characters and followed by its length: ``'yyyy…' (256 characters)``."""
    if len(value) <= width + 8:
        return repr(value)
    return f"{value[:width] + '…'!r} ({len(value)} characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config.

    Attributes:
        file: the file at fault (``config.yaml``, ``steps.py``, ...).
        field: the field path inside the file (``steps[1]``, ``plugins.seed.seed``), or
            ``""`` for a problem with the whole file.
        message: what is wrong and what was expected.
        line: 1-based line in ``file``, when known.
        column: 1-based column in ``file``, when known.
    """

    file: Path
    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{display_path(self.file)}: "
        if self.field:
            where += f"{self.field}: "
        # Whole-file problems (syntax errors) say "line L, column C" in the message itself.
        suffix = f" (line {self.line})" if self.line is not None and self.field else ""
        return f"{where}{self.message}{suffix}"


class ConfigValidationError(ConfigError):
    """One or more :class:`Problem` s found while loading a folder experiment.

    Attributes:
        problems: every problem found, in file order.
        file: the file of the first problem.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("ConfigValidationError needs at least one problem")
        self.problems = list(problems)
        self.file = self.problems[0].file
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        head = f"{display_path(self.file)} has {len(self.problems)} problems:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class ModuleImportError(ConfigError):
    """Importing one of an experiment folder's Python modules raised.

    The original exception (with its traceback) is the ``__cause__``.

    Attributes:
        file: the module file that failed.
    """

    def __init__(self, file: Path, message: str) -> None:
        self.file = file
        super().__init__(message)


class ConfigCycleError(ConfigError):
    """Experiments read each other's outputs in a cycle.

    Args:
        cycle: as the attribute.
        where: ``file: field`` of the reference closing the cycle, when it is in a config.
        line: that reference's 1-based line, when known: the message ends with
            ``(line N)``, as a :class:`Problem`'s does.

    Attributes:
        cycle: the experiment names around the cycle, the first repeated at the end.
        line: the ``line`` given.
    """

    def __init__(self, cycle: Sequence[str], where: str = "", line: int | None = None) -> None:
        self.cycle = list(cycle)
        self.line = line
        prefix = f"{where}: " if where else ""
        suffix = f" (line {line})" if line is not None else ""
        super().__init__(
            f"{prefix}experiments read each other's outputs in a cycle: "
            f"{' -> '.join(self.cycle)}. An experiment graph must be acyclic: an upstream "
            f"experiment has to finish before the experiments reading its outputs start.{suffix}"
        )


__all__ = [
    "ConfigCycleError",
    "ConfigValidationError",
    "ModuleImportError",
    "Problem",
    "did_you_mean",
    "display_path",
    "path_limits",
    "path_problem",
    "quoted_path",
]
