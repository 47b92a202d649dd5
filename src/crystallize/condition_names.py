"""Treatment names that cannot be told apart: padded with whitespace, or equal to another
name (or to ``baseline``) but for case, Unicode normal form or surrounding whitespace.

Such names would share an artifact folder on macOS and Windows, or read as one name in
every table. :meth:`Experiment.validate <crystallize.Experiment.validate>` refuses them,
and so does loading a ``config.yaml`` (naming the treatment's line).
"""

from __future__ import annotations

from typing import Any

from crystallize.treatment import BASELINE


def padded(name: str) -> bool:
    """Whether ``name`` starts or ends with whitespace. ``False`` for a blank name (only
    whitespace), which is refused where it is given (see :func:`blank_problem`): a
    :class:`~crystallize.treatment.Treatment` refuses one when it is built."""
    return bool(name.strip()) and name != name.strip()


def blank_problem(owner: str, name: str) -> str:
    """Why a blank ``name`` (only whitespace, ``"   "``) cannot be used: like a padded one
    (see :func:`padded_problem`), no table or listing shows it. ``owner`` says what it
    names (``"Treatment name"``)."""
    return (
        f"{owner} {shown_name(name)} is only whitespace, which tables and listings do not "
        "show (it would read as no name at all); give it a name with visible characters"
    )


def shown_name(name: Any) -> str:
    """``repr(name)``, cut short for a long name."""
    if isinstance(name, str) and len(name) > 60:
        return f"{name[:40]!r}... ({len(name)} characters)"
    return repr(name)


def padded_problem(owner: str, name: str) -> str:
    """Why ``name`` (see :func:`padded`) cannot be used: no table or listing shows its
    padding. ``owner`` says what it names (``"treatment name"``)."""
    return (
        f"{owner} {shown_name(name)} starts or ends with whitespace, which tables and listings "
        f"do not show (it would read as {name.strip()!r}); write {name.strip()!r}"
    )


def treatment_name_problems(names: list[str]) -> list[tuple[str, str]]:
    """``(name, problem)`` for each distinct name of ``names`` that is padded with
    whitespace, then for each equal to an earlier one (or to ``baseline``) under
    ``casefold()``, or once composed (NFC) and stripped of surrounding whitespace."""
    distinct = list(dict.fromkeys(names))
    problems = [(name, padded_problem("treatment name", name)) for name in distinct if padded(name)]
    first: dict[str, str] = {}
    for name in [BASELINE, *distinct]:
        earlier = first.setdefault(_as_read(name).casefold(), name)
        if earlier == name:
            continue
        if _as_read(earlier) == _as_read(name):
            problems.append((name, _lookalike_clash(earlier, name)))
        else:
            problems.append((name, _case_clash(earlier, name)))
    return problems


def _as_read(name: str) -> str:
    """``name`` as a reader sees it: composed (NFC: an accent is one character, not a
    letter and a combining mark) and without surrounding whitespace."""
    import unicodedata  # lazy: only while validating

    return unicodedata.normalize("NFC", name).strip()


def _case_clash(earlier: str, name: str) -> str:
    """``name`` equals the earlier ``earlier`` but for case (and perhaps what :func:`_as_read` ignores)."""
    if earlier == BASELINE:
        clash = f"treatment name {_spelled(name)} differs from 'baseline' only by case"
    else:
        clash = f"treatment names {_spelled(earlier)} and {_spelled(name)} differ only by case"
    return (
        f"{clash}: on macOS and Windows, whose file systems ignore case, their artifact "
        "folders would be one and overwrite each other; rename one"
    )


def _lookalike_clash(earlier: str, name: str) -> str:
    """``name`` looks the same as the earlier ``earlier`` (see :func:`_as_read`)."""
    if earlier == BASELINE:
        clash = f"treatment name {_spelled(name)} looks the same as 'baseline'"
    else:
        clash = f"treatment names {_spelled(earlier)} and {_spelled(name)} look the same"
    return (
        f"{clash}: they differ only by surrounding whitespace or by how an accented letter "
        "is encoded (one character, or a letter and a combining accent), so every table "
        "would show them as one name; rename one"
    )


def _spelled(name: str) -> str:
    """``name`` quoted, with its code points written out when it is not ASCII (two
    names that look the same then read differently)."""
    return f"'{name}'" if name.isascii() else f"'{name}' ({ascii(name)})"


__all__ = ["blank_problem", "padded", "padded_problem", "shown_name", "treatment_name_problems"]
