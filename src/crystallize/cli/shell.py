"""Command lines and this platform's shell: commands printed for the user to copy, quoted
for it, and commands given as one string (``$EDITOR``) split as it would.

POSIX shells (Linux, macOS) get :func:`shlex.join`. On Windows, words are quoted as the
Microsoft C runtime reads them back (:func:`subprocess.list2cmdline`), and a word holding a
character cmd.exe or PowerShell would act on (``'``, ``&``, ``|``, ``;``, ...) is put in
double quotes too, so the line pastes into either. (``%`` in cmd.exe, and ``$`` or a
backtick in PowerShell, still expand inside double quotes.)
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

# Characters cmd.exe or PowerShell act on in a bare word but leave alone in double quotes.
_WINDOWS_SPECIAL = frozenset("'&|<>^(),;@{}#")


def command_line(words: Sequence[str]) -> str:
    """``words`` as one command line to paste into this platform's shell."""
    if sys.platform == "win32":
        return " ".join(_windows_quote(word) for word in words)
    return shlex.join(words)


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


__all__ = ["command_line", "split_command"]
