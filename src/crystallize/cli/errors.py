"""User errors: one clear message on stderr and exit code 2; ``--debug`` adds the traceback.

Every command body runs inside :func:`handle_errors`. Mistakes a user can make (an
unknown experiment, a broken config, a bad ``--set``, an unknown treatment or run id)
raise :class:`UserError` or one of Crystallize's own exceptions; both become::

    Error: <message>

on stderr and exit code :data:`EXIT_USER_ERROR`. Anything else is a bug: it is reported
the same way (exit code 1) with a hint to rerun with ``--debug``.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

EXIT_OK = 0
#: Some replicate failed, or an unexpected error happened.
EXIT_FAILED = 1
#: The user asked for something impossible (unknown name, bad option, broken config).
EXIT_USER_ERROR = 2
#: The run was interrupted with Ctrl-C.
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])

_debug = False


class UserError(Exception):
    """Something the user asked for cannot be done; the message says what to do instead.

    Args:
        message: the text shown after ``Error:``.
        details: extra text shown only with ``--debug`` (e.g. a stored traceback).
    """

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details


def set_debug(enabled: bool) -> None:
    """Show tracebacks for errors from now on (``--debug``)."""
    global _debug
    _debug = bool(enabled)


def debug_enabled() -> bool:
    """True when ``--debug`` was given or ``CRYSTALLIZE_DEBUG`` is set to a true value."""
    env = os.environ.get("CRYSTALLIZE_DEBUG", "").strip().lower()
    return _debug or env in ("1", "true", "yes", "on")


def is_user_error(exc: BaseException) -> bool:
    """True for exceptions that describe a user's mistake rather than a bug."""
    from crystallize.exceptions import CrystallizeError

    return isinstance(exc, UserError | CrystallizeError)


def report(exc: BaseException) -> int:
    """Print ``exc`` the CLI way on stderr and return the exit code it deserves.

    The message (and with ``--debug`` the traceback) is made printable: names and
    values it quotes may hold control characters (see :func:`crystallize.cli.text.printable`).
    """
    from crystallize.cli.text import printable

    user = is_user_error(exc)
    if debug_enabled():
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        print(printable(trace), end="", file=sys.stderr)
        details = getattr(exc, "details", None)
        if details:
            print(printable(details.rstrip()), file=sys.stderr)
    message = printable(str(exc).strip() or type(exc).__name__)
    if user:
        print(f"Error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    hint = "" if debug_enabled() else " (rerun with --debug to see the traceback)"
    print(f"Error: unexpected {type(exc).__name__}: {message}{hint}", file=sys.stderr)
    return EXIT_FAILED


def handle_errors(func: F) -> F:
    """Decorate a typer command: turn exceptions into a message and an exit code."""
    import typer

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            raise typer.Exit(report(exc)) from None

    return wrapper  # type: ignore[return-value]


def suggest(name: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for a close match among ``choices``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def known(choices: Iterable[str], what: str) -> str:
    """``" Known <what>: a, b, c."`` (or ``" There are no <what>."``)."""
    names = sorted(set(choices))
    if not names:
        return f" There are no {what}."
    return f" Known {what}: {', '.join(names)}."


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USER_ERROR",
    "UserError",
    "debug_enabled",
    "handle_errors",
    "is_user_error",
    "known",
    "report",
    "set_debug",
    "suggest",
]
