"""Locating module-level objects by name, so decorated factories pickle by reference."""

from __future__ import annotations

import importlib
from collections.abc import Callable
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


def factory_reference(fn: Callable[..., Any], marker: str, params: dict[str, Any]) -> tuple:
    """``__reduce__`` value rebuilding a decorated object through its module-level factory.

    Raises :class:`pickle.PicklingError` when the factory cannot be found again by name
    (defined inside a function, or shadowed), so the problem shows in the driver rather
    than as a crashed worker.
    """
    module, qualname = fn.__module__, fn.__qualname__
    try:
        factory = import_qualname(module, qualname)
    except Exception:
        factory = None
    if getattr(factory, marker, None) is not fn:
        reason = (
            "it is defined inside a function"
            if "<locals>" in qualname
            else "the module has no such name, or it names a different object"
        )
        import pickle

        raise pickle.PicklingError(
            f"'{qualname}' from module '{module}' cannot be found again by name ({reason}); "
            "worker processes need it defined at module scope"
        )
    return (rebuild_from_factory, (module, qualname, params))
