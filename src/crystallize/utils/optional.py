"""Optional dependencies, imported on first use with an actionable error."""

from __future__ import annotations

import importlib
from types import ModuleType

from crystallize.exceptions import OptionalDependencyError


def require(module: str, *, feature: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`OptionalDependencyError` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(feature, package or module, extra) from exc


__all__ = ["require"]
