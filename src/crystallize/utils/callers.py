"""Point warnings at the user's code rather than at the library's internals."""

from __future__ import annotations

import sys


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by our caller point at the first
    frame outside this package (the user's ``Experiment(...)``, ``run()`` or ``build()``).

    Call it as the argument of ``warnings.warn`` from inside the package.
    """
    frame = sys._getframe(1)  # the function issuing the warning: stacklevel 1
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "crystallize" and not module.startswith("crystallize."):
            return level
        frame = frame.f_back
        level += 1
    return 1


__all__ = ["user_stacklevel"]
