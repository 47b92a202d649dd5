"""Point warnings at the user's code rather than at the library's internals."""

from __future__ import annotations

import sys
from types import FrameType

#: Modules of an experiment folder's code (``steps.py``...): the user's, though named
#: under ``crystallize`` (:data:`crystallize.config.modules.PACKAGE_PREFIX`).
_FOLDER_MODULES = "crystallize.config._folders."
#: Top-level packages that call Crystallize on nobody's behalf in particular: the command
#: line's (typer, click), and those running its work (threads, pools, event loops, Ray,
#: ``python -m``). A warning reached through one of them has no user frame to name.
_RUNNERS = frozenset(
    {"typer", "click", "threading", "concurrent", "multiprocessing", "asyncio", "runpy", "ray"}
)
#: Standard helpers that sit between two frames of the same caller (``with`` blocks,
#: decorators): passed over, as Crystallize's own frames are.
_PASSED_OVER = frozenset({"contextlib", "functools"})
#: Folders installed packages live in: their code (an interface's event loop, a library
#: calling back into Crystallize) is nobody's to fix, so it is passed over too.
_INSTALLED = frozenset({"site-packages", "dist-packages"})


def _installed(frame: FrameType) -> bool:
    """Whether ``frame`` runs code of an installed third-party package."""
    parts = frame.f_code.co_filename.replace("\\", "/").split("/")
    return not _INSTALLED.isdisjoint(parts[:-1])


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by our caller point at the user's
    code: the frame that called into this package (the user's ``Experiment(...)``,
    ``run()`` or ``build()``, or a step of an experiment folder).

    Frames of installed third-party packages (``site-packages``) are passed over as
    Crystallize's own are: the interactive interface's event loop (textual) loading an
    experiment is not the place to name. When Crystallize was called by the command line
    (typer, click) or runs in a worker (a thread, a pool, an event loop), no user frame
    called it: the warning then points at the function issuing it (stacklevel 1), which
    ``crystallize`` commands print without a place. Call it as the argument of
    ``warnings.warn`` from inside the package.
    """
    frame: FrameType | None = sys._getframe(1)  # the function issuing the warning: stacklevel 1
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        top = module.partition(".")[0]
        if top in _RUNNERS:
            return 1
        if (
            (top == "crystallize" and not module.startswith(_FOLDER_MODULES))
            or top in _PASSED_OVER
            or _installed(frame)
        ):
            frame = frame.f_back
            level += 1
            continue
        return level
    return 1


__all__ = ["user_stacklevel"]
