"""User errors: one clear message on stderr and exit code 2; ``--debug`` adds the traceback.

Every command body runs inside :func:`handle_errors`. Mistakes a user can make (an
unknown experiment, a broken config, a bad ``--set``, an unknown treatment or run id)
raise :class:`UserError` or one of Crystallize's own exceptions; both become::

    Error: <message>

on stderr and exit code :data:`EXIT_USER_ERROR`. Anything else is a bug: it is reported
the same way (exit code 1) with a hint to rerun with ``--debug``, and so is any other
BaseException but ``SystemExit`` (a ``GeneratorExit``, gevent's ``GreenletExit``, pytest's
``Failed`` raised by a plugin hook).

Ctrl+C (and SIGTERM and SIGHUP, which the command treats the same way) stops a command
with a message saying what state it left things in (:func:`interrupted`), exit code
:data:`EXIT_INTERRUPTED` (:data:`EXIT_TERMINATED` after SIGTERM, :data:`EXIT_HANGUP` after
SIGHUP).

Output that cannot be written (a full disk, a closed stdout) never stops a command halfway
(see :class:`crystallize.cli.main.PipeSafeStream`); afterwards :func:`output_failure` says
what went wrong, and the command reports it on stderr with a non-zero exit code.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import typer

EXIT_OK = 0
#: Some replicate failed, or an unexpected error happened.
EXIT_FAILED = 1
#: The user asked for something impossible (unknown name, bad option, broken config).
EXIT_USER_ERROR = 2
#: Interrupted with Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Stopped by SIGTERM (``kill``, ``timeout``, Slurm, ``docker stop``): 128 + SIGTERM.
EXIT_TERMINATED = 143
#: Stopped by SIGHUP (the terminal or SSH session closed): 128 + SIGHUP.
EXIT_HANGUP = 129

#: The signals that stop a command the way Ctrl+C does (SIGHUP only where it exists).
STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM) + (
    (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
)

F = TypeVar("F", bound=Callable[..., Any])

_debug = False
_stop_signal = signal.SIGINT  # what raised the KeyboardInterrupt being handled
_interrupt_reported = False


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
    """True for exceptions that describe a user's mistake rather than a bug: besides
    :class:`UserError` and Crystallize's own exceptions, a path the user gave that no
    file can have (see :func:`bad_path_message`)."""
    from crystallize.exceptions import CrystallizeError

    return isinstance(exc, UserError | CrystallizeError) or bad_path_message(exc) is not None


def bad_path_message(exc: BaseException) -> str | None:
    """The message for an error the OS (or Python) raises for a path that cannot be one
    (one the user gave: an argument, ``root_dir``), else ``None``: a name too long
    (``ENAMETOOLONG``), a symlink loop (``ELOOP``, or pathlib's ``Symlink loop from``),
    a NUL byte (``embedded null byte``). A safety net: the commands check the paths they
    are given first, with messages naming the argument."""
    import errno

    from crystallize.config.errors import quoted_path

    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
        name = exc.filename if isinstance(exc.filename, str) else None
        where = f"the path {quoted_path(name)}" if name else "a path"
        if exc.errno == errno.ENAMETOOLONG:
            return f"{where} is too long (a file or folder name in it, or the whole path, exceeds the system's limit)."
        return f"{where} cannot be read: it is a symlink loop (too many levels of symbolic links)."
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from "):  # pathlib, Python < 3.13
        name = str(exc).removeprefix("Symlink loop from ")
        return f"the path {name} cannot be read: it is a symlink loop (too many levels of symbolic links)."
    if type(exc) is ValueError and str(exc) == "embedded null byte":
        return "a path holds a NUL byte, which no path can contain."
    return None


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
    message = printable(bad_path_message(exc) or str(exc).strip() or type(exc).__name__)
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
            raise interrupted("Interrupted.") from None
        except BaseException as exc:  # a GeneratorExit or BaseException subclass from user code too
            raise typer.Exit(report(exc)) from None

    return wrapper  # type: ignore[return-value]


def stopped_by(signum: int) -> None:
    """Note that ``signum`` (one of :data:`STOP_SIGNALS`) is stopping the command: it sets
    the exit code."""
    global _stop_signal
    _stop_signal = signum


def report_interrupt(message: str) -> int:
    """Report an interrupt: print ``message`` (what state the command left things in) on
    stderr; return 128 + the signal that stopped the command: :data:`EXIT_INTERRUPTED`
    (Ctrl+C), :data:`EXIT_TERMINATED` (SIGTERM) or :data:`EXIT_HANGUP` (SIGHUP).

    From then on :func:`interrupt_reported` is true: the command's signal handler ignores
    a further Ctrl+C, and the command leaves without waiting for worker threads.
    """
    global _interrupt_reported
    _interrupt_reported = True  # first: a Ctrl+C from here on is ignored
    from crystallize.cli.text import printable

    print(printable(message), file=sys.stderr)
    return 128 + int(_stop_signal)


def interrupted(message: str) -> typer.Exit:
    """:func:`report_interrupt` ``message``; return the ``typer.Exit`` to raise."""
    import typer

    return typer.Exit(report_interrupt(message))


def interrupt_reported() -> bool:
    """True once :func:`report_interrupt` reported an interrupt (since :func:`reset_interrupt`)."""
    return _interrupt_reported


def reset_interrupt() -> None:
    """Forget an earlier interrupt (a new command starts)."""
    global _interrupt_reported
    _interrupt_reported = False
    stopped_by(signal.SIGINT)


def on_interrupt(message: str) -> Callable[[F], F]:
    """Decorate a command: Ctrl+C (or SIGTERM, SIGHUP) inside it is reported with ``message``,
    which says what state the command leaves things in (see :func:`interrupted`)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except KeyboardInterrupt:
                raise interrupted(message) from None

        return wrapper  # type: ignore[return-value]

    return decorate


class HeldSignals:
    """What :func:`hold_signals` saw: ``signum`` is the first of :data:`STOP_SIGNALS` that
    came while the block ran (``None`` when none did)."""

    signum: int | None = None


@contextlib.contextmanager
def hold_signals() -> Iterator[HeldSignals]:
    """Run a block that must not stop halfway (it cannot, or it is quick): Ctrl+C, SIGTERM
    and SIGHUP that come meanwhile are noted (``held.signum``, and :func:`stopped_by`)
    instead of interrupting it; the caller then reports them. Outside the main thread,
    where signal handlers cannot change, the block runs unprotected.
    """
    held = HeldSignals()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def note(signum: int, frame: Any) -> None:  # noqa: ARG001
        if held.signum is None:
            held.signum = signum
            stopped_by(signum)

    saved = {signum: signal.signal(signum, note) for signum in STOP_SIGNALS}
    try:
        yield held
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def output_failure() -> OSError | None:
    """The error that kept the command's output (stdout) from being written, if any (a full
    disk, stdout closed; see :class:`crystallize.cli.main.PipeSafeStream`). What was
    written is flushed first. Returned once: the caller reports it."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    take = getattr(sys.stdout, "take_failure", None)
    return take() if take is not None else None


def output_failure_message(failure: OSError, then: str) -> str:
    """``Error: the output could not be written to stdout (<reason>); <then>.``"""
    reason = failure.strerror or str(failure) or type(failure).__name__
    return f"Error: the output could not be written to stdout ({reason}); {then.rstrip('.')}."


def suggest(name: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for a close match among ``choices``, else ``""``."""
    from crystallize.utils.text import closest

    match = closest(name, choices)
    return f" Did you mean '{match}'?" if match is not None else ""


def known(choices: Iterable[str], what: str) -> str:
    """``" Known <what>: a, b, c."`` (or ``" There are no <what>."``)."""
    names = sorted(set(choices))
    if not names:
        return f" There are no {what}."
    return f" Known {what}: {', '.join(names)}."


__all__ = [
    "EXIT_FAILED",
    "EXIT_HANGUP",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USER_ERROR",
    "STOP_SIGNALS",
    "HeldSignals",
    "UserError",
    "bad_path_message",
    "debug_enabled",
    "handle_errors",
    "hold_signals",
    "interrupt_reported",
    "interrupted",
    "is_user_error",
    "known",
    "on_interrupt",
    "output_failure",
    "output_failure_message",
    "report",
    "report_interrupt",
    "reset_interrupt",
    "set_debug",
    "stopped_by",
    "suggest",
]
