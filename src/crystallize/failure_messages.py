"""The message kept for a failed condition × replicate: the exception's text, with what
the traceback does not show (which part handed a step its ``None``, which resource
factory raised, why a SQLite connection fails in another thread)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crystallize.utils.text import exception_text

_SQLITE_THREAD_HINT = (
    " (the connection was opened by another thread: under executor_type='thread' a "
    "resource_factory resource is shared by all the threads, so open it with "
    "sqlite3.connect(..., check_same_thread=False), or use executor_type='process')"
)


def failure_message(exc: BaseException) -> str:
    """The text kept for a failed replicate (``str(SystemExit(3))`` would be just "3"),
    with a hint for the one failure the seed page's own ``resource_factory`` example
    meets under thread execution."""
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r}) was called; a step or datasource must return or raise, not exit"
    message = exception_text(exc)
    if type(exc).__module__ == "sqlite3" and "same thread" in message:
        message += _SQLITE_THREAD_HINT
    if getattr(exc, "__notes__", None):  # a resource factory that raised says so in a note
        from crystallize.resources import factory_failure_note

        note = factory_failure_note(exc)
        if note and note not in message:
            message += f" {note}"
    return message


def none_input_hint(
    entries: Sequence[tuple[Any, ...]], stage: str, data: Any, exc: BaseException, position: int
) -> str:
    """For a step failing on the ``None`` it was handed (``'NoneType' object has no
    attribute ...``), which part returned it: a step or datasource without ``return``
    is the usual cause, and the failing step's traceback does not show it.

    ``position`` is the failing step's index in ``entries`` (how many steps of the
    condition finished before it), so a step used twice is told apart from its other
    use; ``""`` when ``stage`` is not the step there (a datasource, treatment or hook
    failed)."""
    if data is not None or not isinstance(exc, (TypeError, AttributeError)):
        return ""
    names = [entry[1] for entry in entries]  # (step, name, ...) per step of the condition
    if not 0 <= position < len(names) or names[position] != stage:
        return ""
    source = f"step '{names[position - 1]}'" if position else "the datasource"
    return f" (its input was None, returned by {source}: does it end with return?)"


__all__ = ["failure_message", "none_input_hint"]
