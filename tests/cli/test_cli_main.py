"""The entry point: --debug anywhere, lazy textual, the TUI's missing-extra message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crystallize.cli.errors import UserError
from crystallize.cli.main import _take_debug_flag, main
from crystallize.cli.tui import require_textual


def test_debug_flag_is_taken_from_anywhere_before_double_dash():
    assert _take_debug_flag(["run", "x", "--debug"]) == (["run", "x"], True)
    assert _take_debug_flag(["run", "--", "--debug"]) == (["run", "--", "--debug"], False)


def test_main_returns_the_exit_code(make_experiment, capsys):
    make_experiment("numbers")
    assert main(["list"]) == 0
    assert "numbers" in capsys.readouterr().out
    assert main(["run", "nothing"]) == 2
    assert capsys.readouterr().err.startswith("Error: no experiment named 'nothing'")
    assert main(["--help"]) == 0


def test_version_flag_and_python_dash_m(capsys):
    from crystallize import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"crystallize {__version__}\n"
    assert main(["-V"]) == 0
    assert capsys.readouterr().out == f"crystallize {__version__}\n"
    done = subprocess.run([sys.executable, "-m", "crystallize", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == f"crystallize {__version__}\n", done.stderr


def test_commands_do_not_import_textual(make_experiment):
    make_experiment("numbers")
    code = (
        "import sys\n"
        "from crystallize.cli.main import main\n"
        "assert main(['list']) == 0\n"
        "print('textual loaded:', 'textual' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "textual loaded: False" in proc.stdout


def test_missing_textual_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "textual", None)
    with pytest.raises(UserError, match=r"pip install 'crystallize\[tui\]'"):
        require_textual()


def test_no_command_without_textual_is_a_clear_error():
    code = "import sys\nsys.modules['textual'] = None\nfrom crystallize.cli.main import main\nsys.exit(main([]))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "pip install 'crystallize[tui]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def _no_command(stdout) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    """``crystallize`` with no command, stdin from /dev/null and stdout to ``stdout``."""
    code = "import sys\nfrom crystallize.cli.main import main\nsys.exit(main([]))\n"
    return subprocess.run(
        [sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
        text=True, timeout=60,  # before the check, the interface waited forever
    )


def test_no_command_without_a_terminal_is_a_clear_error():
    pytest.importorskip("textual")
    proc = _no_command(subprocess.PIPE)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        "Error: the interactive interface needs a terminal, but stdin is not one. "
        "See the commands with: crystallize --help (e.g. crystallize list)"
    )


def test_no_command_needs_stdin_to_be_a_terminal_too():
    pytest.importorskip("textual")
    import os
    import pty

    leader, follower = pty.openpty()  # stdout is a terminal, stdin is not
    try:
        proc = _no_command(follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 2
    assert "needs a terminal, but stdin is not one" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_require_terminal_names_stdout(monkeypatch):
    import io

    from crystallize.cli.tui import require_terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with pytest.raises(UserError, match="needs a terminal, but stdout is not one"):
        require_terminal()
