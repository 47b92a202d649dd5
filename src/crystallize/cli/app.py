"""The typer application: one command per module, the TUI when no command is given."""

from __future__ import annotations

import typer

from crystallize.cli.errors import handle_errors, set_debug

HELP = (
    "Run and inspect Crystallize experiments.\n\n"
    "Experiments are the folders experiments/**/config.yaml under the current directory "
    "(or a path you give). Without a command, the interactive interface opens."
)


def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """Run and inspect Crystallize experiments."""
    if debug:
        set_debug(True)
    if ctx.invoked_subcommand is None:
        from crystallize.cli.tui import launch

        handle_errors(launch)()


def build_app() -> typer.Typer:
    """The ``crystallize`` typer app with every command registered."""
    from crystallize.cli import diff, history, listing, maintenance, run, scaffold

    app = typer.Typer(
        name="crystallize",
        help=HELP,
        add_completion=False,
        no_args_is_help=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback(invoke_without_command=True)(_root)
    app.command("list")(handle_errors(listing.list_command))
    app.command("run")(handle_errors(run.run_command))
    app.command("show")(handle_errors(history.show_command))
    app.command("runs")(handle_errors(history.runs_command))
    app.command("report")(handle_errors(history.report_command))
    app.command("diff")(handle_errors(diff.diff_command))
    app.command("delete")(handle_errors(maintenance.delete_command))
    app.command("compact")(handle_errors(maintenance.compact_command))
    app.command("new")(handle_errors(scaffold.new_command))
    return app


__all__ = ["build_app"]
