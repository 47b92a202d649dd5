"""The typer application: one command per module, the TUI when no command is given."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from crystallize.cli.errors import handle_errors, set_debug

#: Narrower than this (``COLUMNS``, else the terminal's width), help is click's plain
#: layout: typer's rich option panels would cut option names and words to fit (``--repli…``).
RICH_HELP_MIN_WIDTH = 80

HELP = (
    "Run and inspect Crystallize experiments.\n\n"
    "Experiments are the folders experiments/**/config.yaml under the current directory "
    "(every **/config.yaml when there is no experiments/ folder); commands that take an "
    "experiment also take a path to its folder. Without a command, the interactive "
    "interface opens."
)

_Function = TypeVar("_Function", bound=Callable[..., Any])


def command_help(text: str) -> Callable[[_Function], _Function]:
    """Decorator: ``text`` becomes the command's docstring, which typer shows as its help.

    Written as a plain docstring, the help would be lost under ``python -OO`` (which
    strips docstrings); a string passed here is kept.
    """

    def decorate(function: _Function) -> _Function:
        function.__doc__ = text
        return function

    return decorate


def _print_version(value: bool) -> None:
    """``--version``: print the installed version and stop."""
    if value:
        from crystallize import __version__

        print(f"crystallize {__version__}")
        raise typer.Exit()


def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", "-V", callback=_print_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Run and inspect Crystallize experiments."""
    if debug:
        set_debug(True)
    if ctx.invoked_subcommand is None:
        from crystallize.cli.tui import launch

        handle_errors(launch)()


def unwrapped(text: str | None) -> str | None:
    """Help text with the line breaks inside its paragraphs joined (the help shows
    docstring lines as they are written otherwise); ``\\b`` paragraphs are kept."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


def plain_flags(params: list[Any]) -> list[Any]:
    """``params`` with no value type shown for flags (``--json``, ``--help``): they take
    no value, yet typer labels them ``<bool>``."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


def rich_help_fits() -> bool:
    """True when the terminal is wide enough for typer's rich help (:data:`RICH_HELP_MIN_WIDTH`)."""
    import shutil

    return shutil.get_terminal_size().columns >= RICH_HELP_MIN_WIDTH


class Command(TyperCommand):
    """A command whose help shows paragraphs unwrapped and flags without a type, in
    click's plain layout on a narrow terminal (see :func:`rich_help_fits`)."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:  # noqa: A002 (click's name)
        super().__init__(*args, help=unwrapped(help), **kwargs)

    def get_params(self, ctx: Any) -> list[Any]:
        """The command's parameters, flags without a type label."""
        return plain_flags(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The help: typer's rich panels, or click's plain layout when they would not fit."""
        if rich_help_fits():
            super().format_help(ctx, formatter)
        else:
            super(TyperCommand, self).format_help(ctx, formatter)  # click's own


class Group(TyperGroup):
    """The ``crystallize`` group: its help shows flags without a type, plain on a narrow
    terminal, as :class:`Command`."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's parameters, flags without a type label."""
        return plain_flags(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The help: typer's rich panels, or click's plain layout when they would not fit."""
        if rich_help_fits():
            super().format_help(ctx, formatter)
        else:
            super(TyperGroup, self).format_help(ctx, formatter)  # click's own


def build_app() -> typer.Typer:
    """The ``crystallize`` typer app with every command registered."""
    from crystallize.cli import diff, history, listing, maintenance, run, scaffold

    app = typer.Typer(
        name="crystallize",
        cls=Group,
        help=HELP,
        add_completion=False,
        no_args_is_help=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback(invoke_without_command=True)(_root)
    app.command("list", cls=Command)(handle_errors(listing.list_command))
    app.command("run", cls=Command)(handle_errors(run.run_command))
    app.command("show", cls=Command)(handle_errors(history.show_command))
    app.command("runs", cls=Command)(handle_errors(history.runs_command))
    app.command("report", cls=Command)(handle_errors(history.report_command))
    app.command("diff", cls=Command)(handle_errors(diff.diff_command))
    app.command("delete", cls=Command)(handle_errors(maintenance.delete_command))
    app.command("compact", cls=Command)(handle_errors(maintenance.compact_command))
    app.command("new", cls=Command)(handle_errors(scaffold.new_command))
    return app


__all__ = ["build_app", "command_help"]
