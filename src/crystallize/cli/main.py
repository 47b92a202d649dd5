"""Entry point of the ``crystallize`` console script (and ``python -m crystallize.cli``)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crystallize.cli.errors import EXIT_OK, set_debug


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
    """A text stream (``sys.stdout``) that survives its reader going away.

    When the reader closes the pipe (``crystallize run NAME | head``), the next write
    raises BrokenPipeError. This stream catches it and sends that and every later
    output to ``os.devnull`` (the file descriptor too, so the final flush and child
    processes started afterwards do not fail), so the run goes on and is stored.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text``; after the reader went away, discard it."""
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard_output()
            return len(text)

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crystallize`` command with ``argv`` (default: ``sys.argv[1:]``).

    ``--debug`` may appear anywhere (before ``--``) and makes errors show their
    traceback. Returns the exit code (0 success, 1 failed replicates or an unexpected
    error, 2 a user error, 130 interrupted). When the reader of stdout goes away
    (``| head``), output is dropped and the command carries on (see :class:`PipeSafeStream`).
    Messages of the ``crystallize`` logger are made printable (control characters escaped).
    """
    args, debug = _take_debug_flag(list(sys.argv[1:] if argv is None else argv))
    if debug:
        set_debug(True)
    _show_warnings()
    from crystallize.cli.app import build_app
    from crystallize.cli.text import printable_logging

    app = build_app()
    try:
        with _survive_closed_pipes(), printable_logging():
            app(args=args, prog_name="crystallize", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return EXIT_OK
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return EXIT_OK


__all__ = ["PipeSafeStream", "main"]
