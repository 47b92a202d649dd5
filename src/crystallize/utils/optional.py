"""Optional dependencies, imported on first use with an actionable error."""

from __future__ import annotations

import importlib
from types import ModuleType

from crystallize.exceptions import OptionalDependencyError


def require(module: str, *, feature: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`OptionalDependencyError` naming the extra.

    A package that is installed but fails to import (its own import error, not a missing
    ``module``) is reported with that error, not as "not installed".
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name is None or module == exc.name or module.startswith(exc.name + ".")
        cause = None if missing else f"{type(exc).__name__}: {exc}"
        raise OptionalDependencyError(feature, package or module, extra, cause) from exc
    except ImportError as exc:
        raise OptionalDependencyError(feature, package or module, extra, f"{type(exc).__name__}: {exc}") from exc


__all__ = ["require"]
