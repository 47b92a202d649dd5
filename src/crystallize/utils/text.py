"""User-supplied text: names that may not hold control characters, and text shown with
its control characters written as escapes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# C0 controls, DEL and C1 controls: invisible in a listing, and terminal escapes (ESC,
# or ``\x9b`` on some terminals) or line breaks that printed text would act out; and
# the bidirectional embeddings, overrides and isolates, which make a terminal show the
# text after them reversed (a name that reads as another one).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = f"[\x00-\x1f\x7f-\x9f{_BIDI}]"
# The same, less tab and newline, which shown text may keep.
_UNPRINTABLE = f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]"
# What a name shown on one line escapes: the controls, and lone surrogates (text decoded
# with surrogateescape), which no output encoding can write.
_NOT_ON_ONE_LINE = f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]"


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use (compiling both at import cost ~3 ms)."""
    return re.compile(pattern)


def _escaped(character: str) -> str:
    return repr(character)[1:-1]  # "\\x1b", "\\r", "\\n"


def control_character(text: str) -> str | None:
    """The first control character in ``text``, as a visible escape (``'\\x1b'``), or
    ``None`` when there is none."""
    found = _compiled(_CONTROL).search(text)
    return None if found is None else _escaped(found.group())


def printable(text: object) -> str:
    """``str(text)`` with every control character but newline and tab written as an
    escape as Python writes it (``\\x1b``, ``\\r``), so printing it cannot drive the
    terminal."""
    return _compiled(_UNPRINTABLE).sub(lambda match: _escaped(match.group()), str(text))


def one_line(text: object) -> str:
    """``str(text)`` with every control character written as an escape, newline and tab
    included (``\\n``, ``\\t``): a name shown in a table cell or a heading, where a
    line break or a tab would break the layout and a terminal escape would drive the
    terminal. A lone surrogate is written as its escape too (``\\ud800``), as
    ``to_json`` writes it: printing it would fail under any encoding."""
    return _compiled(_NOT_ON_ONE_LINE).sub(lambda match: _escaped(match.group()), str(text))


_SURROGATE = "[\ud800-\udfff]"


def surrogates_escaped(text: str) -> str:
    """``text`` with each lone surrogate (text decoded with ``surrogateescape``, say),
    which UTF-8 cannot hold, written as its ``\\uXXXX`` escape, as
    :meth:`Result.to_json <crystallize.result.Result.to_json>` writes it; other text
    unchanged (``text`` itself when it holds none)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _compiled(_SURROGATE).sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a note naming what went wrong when the exception's ``__str__``
    itself raises (a failure must still be reported, not replaced by another)."""
    try:
        return str(exc)
    except Exception as broken:
        return f"<str() of the {type(exc).__name__} failed: {type(broken).__name__}>"


def exception_summary(exc: BaseException) -> str:
    """``"TypeName: message"`` for an exception raised by user code (a step, a ranker,
    a plugin hook, a pickling ``__reduce__``), safe when its ``__str__`` raises."""
    return f"{type(exc).__name__}: {exception_text(exc)}"


def function_label(fn: object, default: str) -> str:
    """``fn``'s name where it names a folder (an experiment, a treatment): ``lambda`` for a
    lambda (``<`` and ``>`` are no part of a portable folder name), ``default`` when it
    has none."""
    return getattr(fn, "__name__", "").strip("<>") or default


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``name`` (a likely misspelling of it), or ``None``: one
    differing only in letter case first (``ALPHA`` for ``alpha``), else the closest."""
    import difflib  # only when there is an error to report

    options = sorted(set(choices))
    folded = name.casefold()
    same = [option for option in options if option.casefold() == folded]
    if same:
        return same[0]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:  # compared case-blind: "TRAIN_model" is still like "train_model"
        matches = difflib.get_close_matches(folded, [o.casefold() for o in options], n=1, cutoff=0.6)
        close = [next(o for o in options if o.casefold() == matches[0])] if matches else []
    return close[0] if close else None


def did_you_mean(name: str, choices: Iterable[str], *, what: str = "") -> str:
    """``"; did you mean 'x'?"`` for a close match, else a list of the choices (or ``""``).

    Args:
        name: the misspelt name.
        choices: the valid names.
        what: a plural noun for the list of choices (``"steps"``); empty for no list.
    """
    options = sorted(set(choices))
    match = closest(name, options)
    if match is not None:
        return f"; did you mean '{match}'?"
    if what and options:
        return f" (available {what}: {', '.join(options)})"
    if what:
        return f" (no {what} are defined)"
    return ""


__all__ = [
    "closest", "control_character", "did_you_mean", "exception_summary", "exception_text", "function_label", "one_line",
    "printable", "surrogates_escaped",
]
