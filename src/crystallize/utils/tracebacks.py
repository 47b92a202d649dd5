"""Tracebacks that start where the user's code does."""

from __future__ import annotations

import functools
import os
import traceback

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_traceback(exc: BaseException) -> str:
    """``exc``'s formatted traceback (as ``traceback.format_exc()`` gives it), starting at
    the first frame of the user's code: the frames of crystallize and of the standard
    library that called it (the replicate runner, the step wrapper, the asyncio loop that
    awaited an async step) are left off the top. Such frames further down, and chained
    exceptions, are kept; a traceback with no frame of the user's is kept whole."""
    tb = exc.__traceback__
    first = tb
    while first is not None and _is_plumbing(first.tb_frame.f_code.co_filename):
        first = first.tb_next
    return "".join(traceback.format_exception(type(exc), exc, first if first is not None else tb))


def _is_plumbing(filename: str) -> bool:
    """True for a file of crystallize or of the standard library (installed packages,
    even where they live inside the standard library's directory, are not)."""
    if filename.startswith(_PACKAGE_DIR):
        return True
    stdlib, installed = _library_dirs()
    return filename.startswith(stdlib) and not filename.startswith(installed)


@functools.cache
def _library_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The standard library's directories and those of installed packages."""
    import sysconfig

    paths = sysconfig.get_paths()
    stdlib = tuple({os.path.join(paths[key], "") for key in ("stdlib", "platstdlib") if key in paths})
    installed = tuple({os.path.join(paths[key], "") for key in ("purelib", "platlib") if key in paths})
    return stdlib, installed


__all__ = ["user_traceback"]
