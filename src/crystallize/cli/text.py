"""Showing user-supplied text (names, messages, reports) literally on a terminal.

Experiment, treatment, step and metric names, groups, paths and exception messages come
from the user. Printed through rich or Textual they must not be read as markup (a name
``oops[/b]`` would crash the command, ``[red]R[/red]x`` would show as ``Rx``), and on any
terminal their control characters must not be emitted (``ESC ]0;…`` retitles the window
and can swallow later output). :func:`~crystallize.utils.text.printable` writes such
characters as escapes (``\\x1b``); :func:`literal` also keeps rich and Textual from
reading markup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from crystallize.utils.text import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def typed_name(name: str, choices: Iterable[str] | None = None) -> str:
    """A name typed on the command line, matched across Unicode normal forms: ``café``
    typed decomposed (``e`` + combining accent, as some keyboards, shells and macOS file
    names give it) names the ``café`` a config wrote composed.

    Returns the one of ``choices`` that is the same text as ``name`` (``name`` itself
    when it is a choice); without ``choices``, or when none matches, ``name`` composed
    (NFC, the form text is normally written in). In a C or POSIX locale, where Python
    cannot decode the UTF-8 bytes of a non-ASCII argument, they are read as UTF-8.
    """
    import unicodedata

    options = list(choices) if choices is not None else []
    if name in options:
        return name
    composed = unicodedata.normalize("NFC", _utf8_argument(name))
    return next((option for option in options if unicodedata.normalize("NFC", option) == composed), composed)


def _utf8_argument(text: str) -> str:
    """``text`` decoded from its bytes as UTF-8 when Python could not decode them (a
    command-line argument in a C locale holds them as surrogates); else unchanged."""
    import os

    try:
        return os.fsencode(text).decode("utf-8") if any("\udc80" <= c <= "\udcff" for c in text) else text
    except (UnicodeError, ValueError):
        return text


def unbroken(header: str, cells: Iterable[object]) -> dict[str, Any]:
    """Options of a rich table column whose cells must never be cut or wrapped (run ids,
    numbers, intervals, names to type in commands): ``add_column(header, **unbroken(...))``.

    The other columns shrink (wrap) first; when even that is not enough, the table is
    wider than the console: the command prints it as a
    :class:`~crystallize.terminal_chart.WholeTable`, with ``crop=False``, so that the
    terminal wraps the lines instead of anything being cut or left out.
    """
    from rich.cells import cell_len

    return {"no_wrap": True, "min_width": max([cell_len(printable(cell)) for cell in cells] + [cell_len(header)])}


def wrapping(header: str, cells: Iterable[object]) -> dict[str, Any]:
    """Options of a rich table column of free text (a group, a list of treatments, a
    time) that wraps between words but never inside one: ``add_column(header,
    **wrapping(...))``. See :func:`unbroken` for how the table then fits the console."""
    from rich.cells import cell_len

    longest = [cell_len(word) for text in [header, *cells] for word in printable(text).split()]
    return {"overflow": "fold", "min_width": max(longest, default=1)}


def stdout_console() -> Console:
    """The rich console commands print their tables and reports to stdout on, as wide as
    :func:`stdout_width` says."""
    from rich.console import Console

    return Console(highlight=False, width=stdout_width())


def stdout_width() -> int | None:
    """The width of stdout: ``COLUMNS`` when it is set, else the terminal's when stdout is
    one (``None`` when that cannot be read: rich finds it as it can), else 80. A file or
    pipe never takes the width of the terminal the command was started from."""
    import os
    import sys

    from crystallize.cli.tui import is_terminal

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if not is_terminal(sys.stdout):
        return 80
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or None
    except (OSError, ValueError):
        return None


def literal(text: object, style: str = "") -> Text:
    """A rich ``Text`` that shows ``text`` exactly (no markup; control characters escaped
    as by :func:`printable`), in ``style``. Rich tables and consoles, and Textual widgets,
    trees and logs, show it as is."""
    from rich.text import Text

    return Text(printable(text), style=style)


@contextmanager
def printable_logging(name: str = "crystallize") -> Iterator[None]:
    """While the block runs, the messages of logger ``name`` and its children
    (``crystallize.store``...) are made printable (e.g. a replicate's error message
    logged by the LoggingPlugin). A logger's filters see only its own records, so the
    messages are rewritten where records are made instead."""
    make_record = logging.getLogRecordFactory()
    prefix = f"{name}."

    def printable_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.name == name or record.name.startswith(prefix):
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to the handler to report
                return record
            record.msg, record.args = printable(message), None
        return record

    logging.setLogRecordFactory(printable_record)
    try:
        yield
    finally:
        logging.setLogRecordFactory(make_record)


__all__ = ["literal", "printable", "printable_logging", "stdout_console", "stdout_width", "typed_name", "unbroken", "wrapping"]
