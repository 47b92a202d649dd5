"""Small, picklable records a loaded folder experiment carries (no pydantic needed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CliOptions:
    """How the command line shows an experiment (``cli:`` in ``config.yaml``).

    Attributes:
        group: the group it is listed under (``None``: the CLI's default group).
        priority: ordering inside the group; lower comes first.
        icon: a short icon (an emoji or a character).
        color: a colour name or ``#rrggbb`` for the CLI.
        hidden: leave the experiment out of listings.
    """

    group: str | None = None
    priority: int = 0
    icon: str | None = None
    color: str | None = None
    hidden: bool = False


__all__ = ["CliOptions"]
