"""Entry point of the ``crystallize`` console script (and ``python -m crystallize.cli``)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crystallize.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    STOP_SIGNALS,
    interrupt_reported,
    output_failure,
    output_failure_message,
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
    """Print Python warnings as one ``warning:`` line each (no source line). A warning
    raised in the user's code (an experiment folder's ``steps.py``...) names its place:
    ``warning: experiments/demo/steps.py:6: FutureWarning: ...``; Crystallize's own don't.

    Unless Python's warning options say otherwise (``-W``, ``PYTHONWARNINGS``), deprecation
    warnings raised in an experiment folder's modules are shown, as Python shows those of
    ``__main__``: the folder's code is what the command runs (PEP 565).
    """
    import re
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        stream = file if file is not None else sys.stderr
        if stream is None:  # no stderr at all: dropped, as print() would
            return
        # One write of the whole line: worker processes share stderr, and print()'s two
        # writes (text, then "\n") let another worker's line land between them.
        stream.write(warning_line(message, category, filename, lineno) + "\n")

    warnings.showwarning = show
    if not sys.warnoptions:
        from crystallize.config.modules import PACKAGE_PREFIX

        warnings.filterwarnings("default", category=DeprecationWarning, module=re.escape(PACKAGE_PREFIX + "."))


def warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int) -> str:
    """The line the command shows for a Python warning (made printable): ``warning:
    MESSAGE`` for Crystallize's own, ``warning: PATH:LINE: CATEGORY: MESSAGE`` for one raised
    elsewhere (the user's code), with ``PATH`` relative to the working directory when it
    lies inside it. The interactive interface's log shows warnings the same way."""
    from crystallize.cli.text import printable

    place = "" if is_crystallize_file(filename) else f"{_shown_path(filename)}:{lineno}: {category.__name__}: "
    return printable(f"warning: {place}{message}")


def is_crystallize_file(filename: str) -> bool:
    """True for a source file of the ``crystallize`` package itself."""
    import crystallize

    package = os.path.dirname(os.path.abspath(crystallize.__file__))
    return os.path.abspath(filename).startswith(package + os.sep)


def _shown_path(filename: str) -> str:
    """``filename`` relative to the working directory when it lies inside it."""
    from crystallize.cli.targets import display

    return display(filename)


class PipeSafeStream:
    """A text stream (``sys.stdout``) that survives its reader going away, a write that
    fails, and characters its encoding lacks.

    When the reader closes the pipe (``crystallize run NAME | head``), the next write
    raises BrokenPipeError. This stream catches it and sends that and every later
    output to ``os.devnull`` (the file descriptor too, so the final flush and child
    processes started afterwards do not fail), so the run goes on and is stored.

    Any other write error (a full disk: ``> /dev/full``; an I/O error on a terminal that
    went away; stdout closed, see :func:`_closed_stream`) is handled the same way, and
    also kept in :attr:`failure`: the command says afterwards that its output could not
    be written (see :func:`~crystallize.cli.errors.output_failure`). Nothing printed can
    stop a run.

    On an output whose encoding lacks a character written (``PYTHONIOENCODING=ascii``,
    ``LC_ALL=C``, a cp1252 console), the character is written as its ASCII stand-in
    (``×`` ``x``, ``→`` ``->``, ``±`` ``+/-``...) or ``?``
    (:func:`crystallize.terminal_chart.for_encoding`) instead of failing the command:
    a display problem never stops a run.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        #: The first write error other than the reader going away (``None`` if none).
        self.failure: OSError | None = None
        self._failure_taken = False

    def write(self, text: str) -> int:
        """Write ``text`` (in characters the output can take); after the reader went
        away or a write failed, discard it."""
        try:
            self._stream.write(self._writable(text))
        except OSError as exc:
            self._failed(exc)
        return len(text)

    def take_failure(self) -> OSError | None:
        """:attr:`failure`, the first time it is asked for (it is then reported); else ``None``."""
        if self._failure_taken:
            return None
        self._failure_taken = self.failure is not None
        return self.failure

    def _failed(self, exc: OSError) -> None:
        """A write or flush raised ``exc``: note it (unless the reader just went away) and
        discard the output from now on."""
        if self.failure is None and not isinstance(exc, BrokenPipeError):
            self.failure = exc
        self._discard_output()

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
        """Flush; after the reader went away or a write failed, there is nothing to flush to."""
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)

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


class _ClosedStream:
    """What a standard stream closed when the process started (``>&-``) is written to:
    every write fails as writing to a closed file descriptor does."""

    encoding = "utf-8"

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        """Fail: the stream is closed."""
        raise OSError(errno.EBADF, f"{self.name} is closed")

    def flush(self) -> None:
        """Nothing to flush."""

    def isatty(self) -> bool:
        """Not a terminal."""
        return False


def _closed_stream(fd: int, name: str) -> PipeSafeStream:
    """The stand-in for ``sys.stdout`` (``sys.stderr``) when the process started with it
    closed (Python then sets it to ``None`` and ``print`` drops, or with ``file=None``
    misdirects, what is written).

    A closed file descriptor is pointed at ``os.devnull``: otherwise the next file the
    command opens (the run store) would get its number, and a child process or C code
    writing to stdout would write into that file.
    """
    try:
        os.fstat(fd)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
    return PipeSafeStream(_ClosedStream(name))


def _safe(stream: Any, fd: int, name: str) -> Any:
    """``stream`` as a :class:`PipeSafeStream` (a closed one as :func:`_closed_stream`)."""
    if stream is None:
        return _closed_stream(fd, name)
    return stream if isinstance(stream, PipeSafeStream) else PipeSafeStream(stream)


@contextlib.contextmanager
def _survive_closed_pipes() -> Iterator[None]:
    """Inside the block, ``sys.stdout`` and ``sys.stderr`` are :class:`PipeSafeStream`."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _safe(saved[0], 1, "stdout"), _safe(saved[1], 2, "stderr")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class StopSignals:
    """The command's handling of Ctrl+C (SIGINT), SIGTERM and SIGHUP.

    All raise KeyboardInterrupt in the main thread, so SIGTERM (``kill``, ``timeout``,
    Slurm, ``docker stop``) and SIGHUP (the terminal or SSH session closed) stop a run
    the way Ctrl+C does: it is stored ``cancelled`` and the command says how to resume
    it. Once the interrupt has been reported (or the command has finished), a further
    Ctrl+C is ignored, so it cannot break the cleanup with a traceback, and a further
    SIGTERM or SIGHUP ends the process at once. Worker processes forked from the command
    keep Python's default behaviour.
    """

    SIGNALS = STOP_SIGNALS

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.finished = False
        self._saved: dict[int, Any] = {}

    def install(self) -> None:
        """Handle :attr:`SIGNALS` (only possible in the main thread)."""
        if threading.current_thread() is threading.main_thread():
            self._saved = {signum: signal.signal(signum, self.handle) for signum in self.SIGNALS}
            from crystallize.run_sharing import exits_after_interrupt

            exits_after_interrupt(True)  # the command ends the process after a stored interrupt

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        if self._saved:
            from crystallize.run_sharing import exits_after_interrupt

            exits_after_interrupt(False)
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved = {}

    def finish(self) -> None:
        """The command has finished: from now on Ctrl+C is ignored, through the
        interpreter's shutdown (SIGTERM and SIGHUP still end the process at once).

        SIGINT is set to ``SIG_IGN`` rather than left to :meth:`handle`: once the exit
        handlers have run, Python puts back the default action of every signal handled by
        a Python function, and then spends a few tenths of a second freeing the modules
        (garbage collection over every object the command loaded), so a Ctrl+C in that
        time would kill the process (exit 130, nothing printed) although the command is
        done. A signal ignored stays ignored. Only where :meth:`install` took the signals.
        """
        self.finished = True
        if signal.SIGINT in self._saved:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def handle(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        """The signal handler."""
        if os.getpid() != self.pid:  # a worker process forked from the command
            _default_action(signum)
        elif self.finished or interrupt_reported():
            if signum != signal.SIGINT:
                _default_action(signum)
        elif _drops_exceptions(frame):
            # Python would print the KeyboardInterrupt raised here and go on ("Exception
            # ignored in ..."): the command would not stop. The signal comes again in a
            # moment, once that callback or hook has returned.
            threading.Timer(_REDELIVER_AFTER, os.kill, (self.pid, signum)).start()
        else:
            stopped_by(signum)
            raise KeyboardInterrupt


#: Seconds after which a signal that arrived where Python drops exceptions comes again.
_REDELIVER_AFTER = 0.02

#: Functions whose exceptions Python prints and drops instead of raising: the callback
#: of an import's module lock (a weakref callback) and logging's at-fork hooks.
_DROPPING = {
    ("<frozen importlib._bootstrap>", "cb"),
    ("logging", "_releaseLock"),
    ("logging", "_afterFork"),
    ("logging", "_after_at_fork_child_reinit_locks"),
}


def _drops_exceptions(frame: Any) -> bool:
    """Whether an exception raised in ``frame`` (where a signal arrived) would be dropped
    by Python: it or a caller is a weakref callback, an at-fork hook or a ``__del__``
    (the exception would propagate up to it and stop there)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__":
            return True
        where = code.co_filename if code.co_filename.startswith("<frozen") else frame.f_globals.get("__name__")
        if (where, code.co_name) in _DROPPING:
            return True
        frame = frame.f_back
    return False


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
        from crystallize.plugins.execution.process_start import stop_processes

        stop_processes(multiprocessing.active_children())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crystallize`` command with ``argv`` (default: ``sys.argv[1:]``).

    ``--debug`` may appear anywhere (before ``--``) and makes errors show their
    traceback. Returns the exit code (0 success, 1 failed replicates, an output that could
    not be written or an unexpected error, 2 a user error, 130 interrupted by Ctrl+C, 143
    stopped by SIGTERM, 129 by SIGHUP). When the reader of stdout goes away (``| head``),
    output is dropped and the command carries on (see :class:`PipeSafeStream`); when
    stdout cannot be written otherwise (a full disk, closed), the command carries on too,
    then says so on stderr and exits with 1. Messages of the ``crystallize`` logger are
    made printable (control characters escaped).

    Ctrl+C, SIGTERM and SIGHUP are handled as :class:`StopSignals` says. Called without
    ``argv`` (as the ``crystallize`` script and ``python -m crystallize.cli`` do), the
    command owns the process: after an interrupt it exits at once without waiting for
    worker threads (see :func:`_exit_now`), and a Ctrl+C while the process exits is
    ignored. Called with ``argv``, it puts the previous signal handlers back and returns.
    """
    signals = StopSignals()
    signals.install()  # before the imports below: Ctrl+C during them is reported too
    reset_interrupt()
    owns_process = argv is None
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv), signals if owns_process else None)
    finally:
        if not owns_process:
            signals.restore()
    if owns_process and interrupt_reported():
        _exit_now(code)
    return code


def _run(argv: list[str], signals: StopSignals | None = None) -> int:
    """The command line ``argv``, run; returns the exit code. Once the command has
    finished, ``signals`` (when given: the command owns the process) are told so
    (:meth:`StopSignals.finish`), before its last output is flushed."""
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
    with _survive_closed_pipes(), printable_logging():
        code = _invoke(app, args)
        if signals is not None:
            signals.finish()
        return _checked_output(code)


def _invoke(app: Any, args: list[str]) -> int:
    """Run the typer ``app`` on ``args``; return its exit code."""
    try:
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
        return EXIT_FAILED
    return EXIT_OK


def _checked_output(code: int) -> int:
    """``code``, or :data:`EXIT_FAILED` (with one line on stderr saying so) when the
    command's output could not be written and the command did not say so itself."""
    failure = output_failure()
    if failure is None:
        return code
    print(output_failure_message(failure, "check where stdout goes (a full disk, a closed pipe or file)"),
          file=sys.stderr)
    return code or EXIT_FAILED


__all__ = ["PipeSafeStream", "StopSignals", "is_crystallize_file", "main", "warning_line"]
