"""Entry point of the ``crystallize`` console script (and ``python -m crystallize.cli``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crystallize.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    interrupt_reported,
    report_interrupt,
    reset_interrupt,
    set_debug,
    stopped_by,
)


def _take_debug_flag(argv: list[str]) -> tuple[list[str], bool]:
    """Remove ``--debug`` wherever it appears before ``--``; report whether it was there."""
    end = argv.index("--") if "--" in argv else len(argv)
    found = "--debug" in argv[:end]
    if found:
        argv = [arg for i, arg in enumerate(argv) if not (i < end and arg == "--debug")]
    return argv, found


def _show_warnings() -> None:
    """Print Python warnings as one ``warning:`` line each (no source line)."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        from crystallize.cli.text import printable

        print(printable(f"warning: {message}"), file=file or sys.stderr)

    warnings.showwarning = show


class PipeSafeStream:
    """A text stream (``sys.stdout``) that survives its reader going away, and characters
    its encoding lacks.

    When the reader closes the pipe (``crystallize run NAME | head``), the next write
    raises BrokenPipeError. This stream catches it and sends that and every later
    output to ``os.devnull`` (the file descriptor too, so the final flush and child
    processes started afterwards do not fail), so the run goes on and is stored.

    On an output whose encoding lacks a character written (``PYTHONIOENCODING=ascii``,
    ``LC_ALL=C``, a cp1252 console), the character is written as its ASCII stand-in
    (``×`` ``x``, ``→`` ``->``, ``±`` ``+/-``...) or ``?``
    (:func:`crystallize.terminal_chart.for_encoding`) instead of failing the command:
    a display problem never stops a run.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` (in characters the output can take); after the reader went
        away, discard it."""
        try:
            self._stream.write(self._writable(text))
        except BrokenPipeError:
            self._discard_output()
        return len(text)

    def _writable(self, text: str) -> str:
        """``text`` with the characters the stream's encoding lacks replaced."""
        from crystallize.terminal_chart import for_encoding

        errors = getattr(self._stream, "errors", None)
        keep = "surrogateescape" if errors == "surrogateescape" else "strict"  # a C locale's undecodable bytes
        return for_encoding(text, getattr(self._stream, "encoding", None), keep)

    def writelines(self, lines: Iterable[str]) -> None:
        """Write each of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush; after the reader went away, there is nothing to flush to."""
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard_output()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _discard_output(self) -> None:
        """Point the stream's file descriptor (or, without one, the stream) at os.devnull."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (AttributeError, OSError, ValueError):  # no real file descriptor
            self._stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
        finally:
            os.close(devnull)


@contextlib.contextmanager
def _survive_closed_pipes() -> Iterator[None]:
    """Inside the block, ``sys.stdout`` and ``sys.stderr`` are :class:`PipeSafeStream`."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (
        stream if stream is None or isinstance(stream, PipeSafeStream) else PipeSafeStream(stream)
        for stream in saved
    )
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class StopSignals:
    """The command's handling of Ctrl+C (SIGINT) and SIGTERM.

    Both raise KeyboardInterrupt in the main thread, so SIGTERM (``kill``, ``timeout``,
    Slurm, ``docker stop``) stops a run the way Ctrl+C does: it is stored ``cancelled``
    and the command says how to resume it. Once the interrupt has been reported (or the
    command has finished), a further Ctrl+C is ignored, so it cannot break the cleanup
    with a traceback, and a further SIGTERM ends the process at once. Worker processes
    forked from the command keep Python's default behaviour.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.finished = False
        self._saved: dict[int, Any] = {}

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (only possible in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            self._saved = {signum: signal.signal(signum, self.handle) for signum in self.SIGNALS}

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved = {}

    def handle(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        """The signal handler."""
        if os.getpid() != self.pid:  # a worker process forked from the command
            _default_action(signum)
        elif self.finished or interrupt_reported():
            if signum == signal.SIGTERM:
                _default_action(signum)
        else:
            stopped_by(signum)
            raise KeyboardInterrupt


def _default_action(signum: int) -> None:
    """What Python does by default: KeyboardInterrupt for SIGINT, death for the others."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _exit_now(code: int) -> None:
    """End the process with ``code`` without joining the threads still running.

    After an interrupt, a thread-pool replicate may still be running (a thread cannot be
    stopped) and the run is already stored: the exit handlers run (stores are closed,
    logs flushed), but the interpreter does not wait for that thread. Child processes
    still running (a cleanup cut short by a second signal) are stopped first, killed
    if they do not end within a second: :mod:`multiprocessing`'s exit handler would wait
    for them without limit.
    """
    import atexit

    _stop_child_processes()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _stop_child_processes() -> None:
    """Stop the :mod:`multiprocessing` child processes still running, if any."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:  # never imported: no child to stop
        from crystallize.plugins.execution.parallel import stop_processes

        stop_processes(multiprocessing.active_children())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crystallize`` command with ``argv`` (default: ``sys.argv[1:]``).

    ``--debug`` may appear anywhere (before ``--``) and makes errors show their
    traceback. Returns the exit code (0 success, 1 failed replicates or an unexpected
    error, 2 a user error, 130 interrupted by Ctrl+C, 143 stopped by SIGTERM). When the
    reader of stdout goes away (``| head``), output is dropped and the command carries on
    (see :class:`PipeSafeStream`). Messages of the ``crystallize`` logger are made
    printable (control characters escaped).

    Ctrl+C and SIGTERM are handled as :class:`StopSignals` says. Called without
    ``argv`` (as the ``crystallize`` script and ``python -m crystallize.cli`` do), the
    command owns the process: after an interrupt it exits at once without waiting for
    worker threads (see :func:`_exit_now`), and a Ctrl+C while the process exits is
    ignored. Called with ``argv``, it puts the previous signal handlers back and returns.
    """
    signals = StopSignals()
    signals.install()  # before the imports below: Ctrl+C during them is reported too
    reset_interrupt()
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
    finally:
        if argv is not None:
            signals.restore()
    if argv is None:
        signals.finished = True
        if interrupt_reported():
            _exit_now(code)
    return code


def _run(argv: list[str]) -> int:
    """The command line ``argv``, run; returns the exit code."""
    args, debug = _take_debug_flag(argv)
    if debug:
        set_debug(True)
    _show_warnings()
    try:
        from crystallize.cli.app import build_app
        from crystallize.cli.text import printable_logging

        app = build_app()
    except KeyboardInterrupt:
        return report_interrupt("Interrupted.")
    try:
        with _survive_closed_pipes(), printable_logging():
            app(args=args, prog_name="crystallize", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return EXIT_OK
        if code == EXIT_INTERRUPTED and not interrupt_reported():  # typer's own, while parsing
            return report_interrupt("Interrupted.")
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return EXIT_OK


__all__ = ["PipeSafeStream", "StopSignals", "main"]
