"""Keeping output written straight to file descriptors 1 and 2 off the interface's screen.

Textual catches what Python code prints (``print()``, ``sys.stderr``), but not what
bypasses ``sys.stdout``: a step running ``subprocess.run(["some-tool", ...])``, C code,
worker processes writing to file descriptor 1 or 2. That output landed in the terminal
textual draws on, over the screen, and stayed there. While the interface runs,
:class:`CapturedOutput` points file descriptors 1 and 2 at a pipe (with
:func:`~crystallize.cli.targets.fds_pointed_at`, as ``--json`` does for descriptor 1)
and a thread hands the lines read from it to a callback (the run screen's log); textual
draws on a duplicate of the terminal's descriptor (:func:`terminal_driver`).

A process forked meanwhile (a worker of process execution) inherits ``sys.stdout`` and
``sys.stderr`` as textual set them: objects handing what is written to the parent's
interface, which lives on only in the parent, so the worker's ``print()`` and warnings
were lost. While the capture runs, a forked child writes them to file descriptors 1 and 2
instead (see :func:`_streams_in_forked_child`), which the parent reads into the log.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from crystallize.cli.targets import fds_pointed_at
from crystallize.cli.text import printable

if TYPE_CHECKING:
    from textual.driver import Driver

KEPT_LINES = 200  # lines written with no screen to show them, printed once the interface closes
#: Open captures of descriptors 1 and 2 (a forked child then writes there: see
#: :func:`_streams_in_forked_child`).
_capturing = 0
PARTIAL_WAIT = 0.2  # seconds: a line without its newline is shown after this long a pause
LONGEST_LINE = 4096  # characters: a longer line without a newline is shown in pieces


class Lines:
    """Splits text written in pieces into lines (a ``\\r`` ends a line too, as a progress
    bar redrawing itself writes it); control characters are escaped (:func:`printable`)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        """The lines ``text`` completes (the rest is kept for the next call)."""
        text = (self._partial + text).replace("\r\n", "\n").replace("\r", "\n")
        *lines, self._partial = text.split("\n")
        while len(self._partial) > LONGEST_LINE:
            lines.append(self._partial[:LONGEST_LINE])
            self._partial = self._partial[LONGEST_LINE:]
        return [printable(line) for line in lines if line.strip()]

    def flush(self) -> list[str]:
        """The text kept without its newline, as a line (``[]`` when there is none)."""
        rest, self._partial = self._partial, ""
        return [printable(rest)] if rest.strip() else []


class CapturedOutput:
    """Output written to file descriptors 1 and 2 while :meth:`capture` runs, line by line.

    Lines go to the callback set with :meth:`show_in` (the run screen's log); lines
    written while none is set are kept (the last :data:`KEPT_LINES`) and written to the
    terminal once the capture ends, after the interface has closed (say, a traceback
    textual prints while it exits).

    Attributes:
        terminal: a file on a duplicate of file descriptor 2 as it was before the capture
            (the terminal textual draws on); ``None`` outside :meth:`capture`.
    """

    def __init__(self) -> None:
        self.terminal: IO[str] | None = None
        self._show: Callable[[str], Any] | None = None
        self._kept: deque[str] = deque(maxlen=KEPT_LINES)
        self._lock = threading.Lock()

    def show_in(self, show: Callable[[str], Any] | None) -> None:
        """Send the lines read from now on to ``show`` (any thread); ``None`` keeps them."""
        with self._lock:
            self._show = show

    def _line(self, line: str) -> None:
        with self._lock:
            show = self._show
            if show is None:
                self._kept.append(line)
        if show is not None:
            show(line)

    @contextlib.contextmanager
    def capture(self) -> Iterator[bool]:
        """Point file descriptors 1 and 2 at a pipe read by a thread while the block runs.

        Yields ``True``, or ``False`` when nothing is captured: not on a POSIX system (the
        terminal driver is replaced for the capture, see :func:`terminal_driver`), or
        a descriptor is closed. While it runs, a process forked writes ``sys.stdout`` and
        ``sys.stderr`` to the descriptors (see :func:`_streams_in_forked_child`).
        """
        global _capturing
        if os.name != "posix":
            yield False
            return
        try:
            terminal_fd = os.dup(2)
        except OSError:  # stderr closed
            yield False
            return
        self.terminal = os.fdopen(terminal_fd, "w", encoding=getattr(sys.__stderr__, "encoding", None) or "utf-8")
        read_end, write_end = os.pipe()
        reader = threading.Thread(target=self._read, args=(read_end,), name="crystallize-output", daemon=True)
        counted = False
        try:
            with fds_pointed_at(write_end, (1, 2)) as captured:
                os.close(write_end)  # fds 1 and 2 hold the pipe now: it ends when they are put back
                write_end = -1
                if captured:
                    reader.start()
                    _capturing += 1
                    counted = True
                yield captured
        finally:
            if counted:
                _capturing -= 1
            if write_end != -1:
                os.close(write_end)
            if reader.ident is not None:  # the reader closes the pipe's end once it is done
                reader.join(timeout=1.0)  # a process the run left behind may hold the pipe open
            else:
                os.close(read_end)
            terminal, self.terminal = self.terminal, None
            self._write_kept(terminal)
            terminal.close()

    def _read(self, read_end: int) -> None:
        """Read the pipe until every writer has closed it; hand each line on."""
        lines = Lines()
        try:
            while True:
                ready, _, _ = select.select([read_end], [], [], PARTIAL_WAIT)
                if not ready:  # a pause: show a line still waiting for its newline
                    for line in lines.flush():
                        self._line(line)
                    continue
                data = os.read(read_end, 65536)
                if not data:
                    break
                for line in lines.feed(data.decode("utf-8", "replace")):
                    self._line(line)
            for line in lines.flush():
                self._line(line)
        except Exception:  # the pipe must never stop the interface
            return
        finally:
            with contextlib.suppress(OSError):
                os.close(read_end)

    def _write_kept(self, terminal: IO[str]) -> None:
        """Write the lines no screen showed to the terminal (the interface has closed)."""
        with self._lock:
            kept = list(self._kept)
            self._kept.clear()
        if kept:
            with contextlib.suppress(Exception):
                terminal.write("".join(f"{line}\n" for line in kept))
                terminal.flush()


def _streams_in_forked_child() -> None:
    """In a child forked while descriptors 1 and 2 are captured, point ``sys.stdout`` and
    ``sys.stderr`` at those descriptors (UTF-8, as the reader decodes them), so that what
    the child prints and the warnings it shows reach the parent's log. A child of a process
    that is not capturing is left as it is."""
    if not _capturing:
        return
    with contextlib.suppress(OSError, ValueError):
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_streams_in_forked_child)


def terminal_driver(terminal: IO[str]) -> type[Driver]:
    """Textual's Linux driver drawing on ``terminal`` (and reading its size there) rather
    than on ``sys.__stderr__`` and ``sys.__stdout__``, whose descriptors point at the
    capture's pipe while the interface runs."""
    from textual.drivers.linux_driver import LinuxDriver

    class TerminalDriver(LinuxDriver):
        """:class:`LinuxDriver` on the terminal kept aside by :class:`CapturedOutput`."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = terminal

        def _get_terminal_size(self) -> tuple[int, int]:
            """``COLUMNS`` and ``LINES`` when set (as textual reads them), else the terminal's."""
            try:
                size = os.get_terminal_size(terminal.fileno())
            except (OSError, ValueError):
                return super()._get_terminal_size()
            width = _positive(os.environ.get("COLUMNS")) or size.columns or 80
            height = _positive(os.environ.get("LINES")) or size.lines or 25
            return width, height

    return TerminalDriver


def _positive(value: str | None) -> int:
    """``value`` as a positive int, else 0."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


__all__ = ["KEPT_LINES", "CapturedOutput", "Lines", "terminal_driver"]
