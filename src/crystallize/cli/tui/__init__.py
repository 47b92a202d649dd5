"""The interactive terminal interface (``crystallize`` with no command); needs textual.

Textual is imported only here, on first use, so the scriptable commands never load it.
"""

from __future__ import annotations

import sys
from pathlib import Path

TUI_INSTALL_HINT = "pip install 'crystallize[tui]'"


def require_textual() -> None:
    """Raise a UserError naming the install command when textual is missing."""
    from crystallize.cli.errors import UserError

    try:
        import textual  # noqa: F401
    except ImportError:
        raise UserError(
            f"the interactive interface needs the 'textual' package, which is not installed. "
            f"Install it with: {TUI_INSTALL_HINT} (or use the commands: crystallize --help)"
        ) from None


def is_terminal(stream: object) -> bool:
    """True when ``stream`` is an open stream attached to a terminal."""
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):  # closed or not a real stream
        return False


def require_terminal() -> None:
    """Raise a UserError when stdin or stdout is not a terminal.

    The full-screen interface cannot draw into a file or pipe, nor read keys from one;
    without this check it would wait forever (e.g. ``crystallize < /dev/null > out``).
    """
    from crystallize.cli.errors import UserError

    streams = {"stdin": sys.stdin, "stdout": sys.stdout}
    for name, stream in streams.items():
        if not is_terminal(stream):
            raise UserError(
                f"the interactive interface needs a terminal, but {name} is not one. "
                "See the commands with: crystallize --help (e.g. crystallize list)"
            )


def launch(root: str | Path = ".") -> None:
    """Open the interface on the experiments under ``root``.

    While it runs, output written straight to file descriptors 1 and 2 (a step's
    subprocess, C code, worker processes) is captured for the run screen's log rather
    than drawn over the screen (:class:`~crystallize.cli.tui.output.CapturedOutput`).
    """
    require_textual()
    require_terminal()
    from crystallize.cli.tui.app import CrystallizeApp
    from crystallize.cli.tui.output import CapturedOutput

    output = CapturedOutput()
    with output.capture() as captured:
        CrystallizeApp(root=root, output=output if captured else None).run()


__all__ = ["TUI_INSTALL_HINT", "is_terminal", "launch", "require_terminal", "require_textual"]
