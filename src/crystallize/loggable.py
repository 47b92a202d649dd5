"""How provenance shows a context value a step read or a step's fixed parameter: JSON
scalars as they are, anything else as a short, deterministic text."""

from __future__ import annotations

from typing import Any

_JSON_SCALARS = (str, int, float, bool, type(None))
_LOGGED_CHARS = 200


def loggable(value: Any) -> Any:
    """A JSON-friendly stand-in for a context value read by a step (provenance): scalars
    as they are (NumPy's as the Python number), anything else as its repr, and text
    beyond 200 characters cut short (each record of each step keeps its own copy)."""
    if isinstance(value, _JSON_SCALARS):
        if isinstance(value, str) and len(value) > _LOGGED_CHARS:
            return value[: _LOGGED_CHARS - 3] + "..."
        return value
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        item = value.item()  # np.float32(0.25) -> 0.25
        if isinstance(item, _JSON_SCALARS):
            return loggable(item)
    text = _set_text(value) if type(value) in (set, frozenset) else repr(value)
    return text if len(text) <= _LOGGED_CHARS else text[: _LOGGED_CHARS - 3] + "..."


def _set_text(value: set[Any] | frozenset[Any]) -> str:
    """A set's repr with its members sorted (by value when they compare, else by their
    repr): its own order follows the process's string hashing, so two identical runs
    would log, and export, different text."""
    try:
        members = [repr(member) for member in sorted(value)]
    except TypeError:  # members of types that do not compare
        members = sorted(repr(member) for member in value)
    if type(value) is frozenset:
        return f"frozenset({{{', '.join(members)}}})" if members else "frozenset()"
    return f"{{{', '.join(members)}}}" if members else "set()"


__all__ = ["loggable"]
