"""Locating module-level objects by name, so decorated factories pickle by reference."""

from __future__ import annotations

import importlib
from typing import Any


def import_qualname(module: str, qualname: str) -> Any:
    """Return the object ``module.qualname`` (nested names separated by dots)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def rebuild_from_factory(module: str, qualname: str, params: dict[str, Any]) -> Any:
    """Unpickling helper: call the module-level factory ``module.qualname(**params)``."""
    return import_qualname(module, qualname)(**params)
