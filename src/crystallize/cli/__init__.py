"""The ``crystallize`` command: scriptable commands (typer) and an interactive TUI (textual).

``crystallize`` with a command (``list``, ``run``, ``show``, ``runs``, ``diff``, ``new``)
works in scripts; ``crystallize`` alone opens the terminal interface (needs the ``tui``
extra). The console-script entry point is :func:`crystallize.cli.main.main`; the same
command runs as ``python -m crystallize.cli``. See ``docs/cli.md``.
"""
