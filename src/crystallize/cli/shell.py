"""Command lines and this platform's shell: commands printed for the user to copy, quoted
for it, and commands given as one string (``$EDITOR``) split as it would.

A ``crystallize VERB ...`` command whose argument (an experiment's name or path) starts
with ``-`` gets its options first and ``--`` before that argument
(``crystallize run --strategy resume -- -slow``): otherwise the command would read it
as options (``-s -l -o -w``).

POSIX shells (Linux, macOS) get :func:`shlex.join`. On Windows, words are quoted as the
Microsoft C runtime reads them back (:func:`subprocess.list2cmdline`), and a word holding a
character cmd.exe or PowerShell would act on (``'``, ``&``, ``|``, ``;``, ...) is put in
double quotes too, so the line pastes into either. (``%`` in cmd.exe, and ``$`` or a
backtick in PowerShell, still expand inside double quotes.)
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Sequence

# Characters cmd.exe or PowerShell act on in a bare word but leave alone in double quotes.
_WINDOWS_SPECIAL = frozenset("'&|<>^(),;@{}#")


def command_line(words: Sequence[str]) -> str:
    """``words`` as one command line to paste into this platform's shell.

    For a ``crystallize`` command, an argument starting with ``-`` (an experiment named
    ``-slow``) is put after ``--``, the options before it, so the command reads it as an
    argument (see :func:`dash_safe`).
    """
    words = dash_safe(words)
    if sys.platform == "win32":
        return " ".join(_windows_quote(word) for word in words)
    return shlex.join(words)


def dash_safe(words: Sequence[str]) -> list[str]:
    """``crystallize VERB ...`` ``words`` that the command reads back as they are meant.

    When an argument of the command (not an option or an option's value) starts with
    ``-``, the options (with their values) come first, then ``--``, then the arguments:
    ``["crystallize", "run", "-slow", "--strategy", "resume"]`` becomes ``crystallize run
    --strategy resume -- -slow``. Which words are options is read from the command's own
    parameters. Other words are returned as they are (also when they hold ``--``
    already, or name no ``crystallize`` command).
    """
    words = list(words)
    if len(words) < 3 or words[0] != "crystallize" or "--" in words[2:]:
        return words
    if not any(word.startswith("-") for word in words[2:]):
        return words
    arity = _option_arity(words[1])
    if arity is None:
        return words
    options: list[str] = []
    arguments: list[str] = []
    index = 2
    while index < len(words):
        word = words[index]
        name = word.partition("=")[0] if word.startswith("--") else word
        if name not in arity:
            arguments.append(word)
            index += 1
            continue
        taken = 1 if name != word else 1 + arity[name]  # --option=value holds its value
        options += words[index : index + taken]
        index += taken
    if not any(word.startswith("-") for word in arguments):
        return words
    return [*words[:2], *options, "--", *arguments]


@functools.cache
def _option_arity(verb: str) -> dict[str, int] | None:
    """``{option name: how many values it takes}`` of ``crystallize VERB`` (0 for a flag),
    or ``None`` when there is no such command."""
    try:
        import typer

        from crystallize.cli.app import build_app

        sub = getattr(typer.main.get_command(build_app()), "commands", {}).get(verb)
    except Exception:  # noqa: BLE001 - a hint is still printed, as it is
        return None
    if sub is None:
        return None
    arity: dict[str, int] = {}
    for param in sub.params:  # click's parameters (typer bundles its own click)
        if param.param_type_name == "option":
            takes = 0 if param.is_flag or param.count else param.nargs
            arity.update(dict.fromkeys([*param.opts, *param.secondary_opts], takes))
    return arity


def _windows_quote(word: str) -> str:
    """One word for cmd.exe and PowerShell, read back as ``word`` by a program."""
    import subprocess

    quoted = subprocess.list2cmdline([word])  # quoted already when it holds a space or is empty
    if quoted.startswith('"') or not _WINDOWS_SPECIAL.intersection(word):
        return quoted
    backslashes = quoted[len(quoted.rstrip("\\")) :]  # doubled, or they would escape the quote
    return '"' + quoted + backslashes + '"'


def split_command(value: str) -> list[str]:
    """A command given as one string (``$EDITOR``) as its words, split as this platform's
    shell would.

    On Windows backslashes are path separators, double quotes group words (and are
    removed), and the program is looked up on ``PATH`` (``code`` becomes the full path
    of ``code.cmd``, which a program cannot start by its bare name); a whole value naming
    a program (an unquoted path with spaces) is that program.

    Raises:
        ValueError: An unclosed quote.
    """
    if sys.platform != "win32":
        return shlex.split(value)
    import shutil

    whole = shutil.which(value)
    if whole:
        return [whole]
    words = [_unquoted(word) for word in shlex.split(value, posix=False)]
    if words:
        words[0] = shutil.which(words[0]) or words[0]
    return words


def _unquoted(word: str) -> str:
    """``word`` without the quotes around it (``shlex.split(posix=False)`` keeps them)."""
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


__all__ = ["command_line", "dash_safe", "split_command"]
