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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from crystallize.utils.text import printable

if TYPE_CHECKING:
    from rich.text import Text


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


__all__ = ["literal", "printable", "printable_logging"]
