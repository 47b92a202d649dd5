"""Entry point of the ``crystallize`` console script (and ``python -m crystallize.cli``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

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
        print(f"warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crystallize`` command with ``argv`` (default: ``sys.argv[1:]``).

    ``--debug`` may appear anywhere (before ``--``) and makes errors show their
    traceback. Returns the exit code (0 success, 1 failed replicates or an unexpected
    error, 2 a user error, 130 interrupted).
    """
    args, debug = _take_debug_flag(list(sys.argv[1:] if argv is None else argv))
    if debug:
        set_debug(True)
    _show_warnings()
    from crystallize.cli.app import build_app

    app = build_app()
    try:
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


__all__ = ["main"]
