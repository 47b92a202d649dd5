"""Commands the CLI prints for the user to copy are quoted for the platform's shell:
POSIX shells on Linux and macOS, cmd.exe and PowerShell on Windows."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from crystallize.cli.history import ExperimentArg, never_ran, tracebacks_hint
from crystallize.cli.run import resume_hint
from crystallize.cli.shell import command_line

WINDOWS_PATH = r"C:\Users\Ana\My Experiments\smooth"
TRICKY = [
    WINDOWS_PATH, r"experiments\it's", "plain", "", "with space", r"C:\My Exps" + "\\", r"it's\\",
    'say "hi"', r'a\"b', "a&b", "x|y", "label='x y'", "(paren)", "semi;colon", "tab\there",
]


def windows_split(line: str) -> list[str]:
    """Split a command line as the Microsoft C runtime (and so Python on Windows) does."""
    words: list[str] = []
    word, quoted, started, i = "", False, False, 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            run = len(line[i:]) - len(line[i:].lstrip("\\"))
            if line[i + run : i + run + 1] == '"':
                word += "\\" * (run // 2) + ('"' if run % 2 else "")
                i += run + (1 if run % 2 else 0)
                if not run % 2:
                    continue
            else:
                word += "\\" * run
                i += run
            started = True
            continue
        if char == '"':
            quoted, started = not quoted, True
        elif char in " \t" and not quoted:
            if started:
                words.append(word)
            word, started = "", False
        else:
            word, started = word + char, True
        i += 1
    if started:
        words.append(word)
    return words


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")


@pytest.fixture
def posix(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")


def test_posix_hints_are_shlex_quoted(posix):
    assert command_line(["crystallize", "run", *TRICKY]) == shlex.join(["crystallize", "run", *TRICKY])
    assert resume_hint(r"experiments/it's", []) == "crystallize run 'experiments/it'\"'\"'s' --strategy resume"


def test_windows_hints_quote_a_path_with_spaces_in_double_quotes(windows):
    hint = resume_hint(WINDOWS_PATH, [("--replicates", 5)])
    assert hint == r'crystallize run "C:\Users\Ana\My Experiments\smooth" --strategy resume --replicates 5'


def test_windows_hints_quote_what_cmd_or_powershell_would_read_otherwise(windows):
    assert resume_hint(r"experiments\it's", []) == "crystallize run \"experiments\\it's\" --strategy resume"
    assert command_line(["a&b", "x|y", "plain", r"C:\dir\file.py"]) == r'"a&b" "x|y" plain C:\dir\file.py'
    assert command_line([r"C:\My Exps" + "\\"]) == r'"C:\My Exps\\"'  # the quote stays a closing one
    assert command_line(["it's\\"]) == "\"it's\\\\\""
    assert command_line(['say "hi"']) == r'"say \"hi\""'
    assert command_line([""]) == '""'


def test_windows_hints_read_back_as_the_same_words(windows):
    line = command_line(["crystallize", "run", *TRICKY])
    assert windows_split(line) == ["crystallize", "run", *TRICKY]


def test_history_hints_use_the_platform_quoting(windows):
    assert tracebacks_hint(WINDOWS_PATH, "abc123") == (
        rf'See their tracebacks with: crystallize show "{WINDOWS_PATH}" --run abc123 --tracebacks'
    )
    message = never_ran(ExperimentArg("smooth", WINDOWS_PATH), Path("data"))
    assert message.endswith(rf'Run it with: crystallize run "{WINDOWS_PATH}"')


def test_history_hints_on_posix_are_unchanged(posix):
    assert tracebacks_hint("my exp", "abc123") == (
        "See their tracebacks with: crystallize show 'my exp' --run abc123 --tracebacks"
    )
    assert never_ran(ExperimentArg("x", "my exp"), Path("data")).endswith("Run it with: crystallize run 'my exp'")


# -- the editor command ($CRYSTALLIZE_EDITOR / $EDITOR / $VISUAL) ------------------------------
NOTEPAD_PP = r"C:\Program Files\Notepad++\notepad++.exe"
CODE_CMD = r"C:\Users\Ana\AppData\Local\Programs\Microsoft VS Code\bin\code.cmd"
ON_PATH = {"code": CODE_CMD, NOTEPAD_PP: NOTEPAD_PP, r"C:\Windows\notepad.exe": r"C:\Windows\notepad.exe"}


@pytest.fixture
def editor(monkeypatch):
    """Set $CRYSTALLIZE_EDITOR (the others unset); programs are found in ``ON_PATH``."""
    import shutil

    from crystallize.cli.tui import model

    monkeypatch.setattr(shutil, "which", ON_PATH.get)
    for variable in model.EDITOR_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    def command(value: str) -> list[str] | None:
        monkeypatch.setenv("CRYSTALLIZE_EDITOR", value)
        return model.editor_command("steps.py")

    return command


def test_windows_editor_paths_keep_their_backslashes(windows, editor):
    assert editor(r"C:\Windows\notepad.exe") == [r"C:\Windows\notepad.exe", "steps.py"]
    assert editor(f'"{NOTEPAD_PP}" -multiInst') == [NOTEPAD_PP, "-multiInst", "steps.py"]
    assert editor(NOTEPAD_PP) == [NOTEPAD_PP, "steps.py"]  # unquoted, but it is one program


def test_windows_editor_program_is_found_on_path(windows, editor):
    assert editor("code --wait") == [CODE_CMD, "--wait", "steps.py"]  # code.cmd: CreateProcess needs it named
    assert editor("myeditor -x") == ["myeditor", "-x", "steps.py"]  # not found: left to the OS


def test_windows_editor_with_an_unclosed_quote_says_so(windows, editor):
    with pytest.raises(ValueError, match=r"CRYSTALLIZE_EDITOR is set to .* fix its quoting"):
        editor(r'"C:\Program Files\x.exe -y')


def test_posix_editor_commands_split_as_a_shell_does(posix, editor):
    assert editor("code --wait") == ["code", "--wait", "steps.py"]
    assert editor("vim -c 'set nu'") == ["vim", "-c", "set nu", "steps.py"]
