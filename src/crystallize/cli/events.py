"""Showing ``ctx.emit`` events of a command-line run as they arrive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crystallize.cli.text import literal
from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from rich.console import Console


class EventEcho(BasePlugin):
    """Prints each live event as ``[condition #replicate] event key=value ...``.

    A driver-only plugin: it is not sent to worker processes.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    def on_event(self, experiment: Any, ctx: Any, event: str, payload: dict[str, Any]) -> None:
        """Print one event."""
        details = " ".join(f"{key}={value!r}" for key, value in payload.items())
        line = f"[{ctx['condition']} #{ctx['replicate']}] {event} {details}".rstrip()
        self.console.print(literal(line), highlight=False, soft_wrap=True)


__all__ = ["EventEcho"]
