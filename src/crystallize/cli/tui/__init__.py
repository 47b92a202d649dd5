"""The interactive terminal interface (``crystallize`` with no command); needs textual.

Textual is imported only here, on first use, so the scriptable commands never load it.
"""

from __future__ import annotations

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


def launch(root: str | Path = ".") -> None:
    """Open the interface on the experiments under ``root``."""
    require_textual()
    from crystallize.cli.tui.app import CrystallizeApp

    CrystallizeApp(root=root).run()


__all__ = ["TUI_INSTALL_HINT", "launch", "require_textual"]
