"""The selection screen's verdicts of failed hypotheses, output written straight to file
descriptors 1 and 2 during a run, the TUI's wording of Ctrl+C advice, and new experiments
in a project without an ``experiments/`` folder."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from cli_support import CONFIG, DATASOURCES
from test_tui_app import (
    SIZE,
    labels,
    log_of,
    notifications,
    open_run_screen,
    sync,
    text_of,
    wait_for,
)

from crystallize.cli.errors import UserError
from crystallize.cli.scaffold import scaffold
from crystallize.cli.tui import model
from crystallize.cli.tui.app import CrystallizeApp
from crystallize.cli.tui.screens.selection import SelectionScreen


# -- 1. failed hypothesis tests are errors, not "not significant" -------------------------------
def summary_with(monkeypatch, *hypotheses: dict) -> str:
    run = SimpleNamespace(run_id="abc123", summary={"hypotheses": list(hypotheses)})
    monkeypatch.setattr(model, "last_run", lambda experiment: (Path("data"), run))
    monkeypatch.setattr(model, "run_facts", lambda run: "completed")
    return model.last_run_summary(SimpleNamespace(name="x")).splitlines()[1]


def test_a_treatment_whose_comparison_failed_is_an_error(monkeypatch):
    line = summary_with(
        monkeypatch,
        {"name": "h", "metrics": ["value"], "results": {"plus": {"error": "ValueError: NaN"}}, "error": None},
        {"name": "h2", "metrics": ["value"], "results": {
            "plus": {"p_value": 0.01, "significant": True},
            "minus": {"p_value": 0.5, "significant": False},
            "odd": {"error": "RuntimeError: verifier raised"},
        }},
    )
    assert line == "h: 0/1 significant, 1 error(s); h2: 1/3 significant, 1 error(s)"


def test_a_hypothesis_that_could_not_be_verified_is_an_error(monkeypatch):
    error = "metric 'value' was never recorded: every replicate failed"
    line = summary_with(
        monkeypatch,
        {"name": "h", "metrics": ["value"], "results": {"plus": {"error": error}}, "error": error},
    )
    assert line == "h: error"


def test_a_verdict_per_metric_counts_when_all_metrics_are_significant(monkeypatch):
    line = summary_with(
        monkeypatch,
        {"name": "h", "metrics": ["a", "b"], "results": {
            "both": {"a": {"significant": True}, "b": {"significant": True}},
            "one": {"a": {"significant": True}, "b": {"significant": False}},
        }},
    )
    assert line == "h: 1/2 significant"


# -- 2. output written to file descriptors 1 and 2 ---------------------------------------------
NOISY_STEPS = '''
import os
import subprocess
import sys

from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    subprocess.run(["echo", f"SUBPROC line {ctx['replicate']}"], check=True)
    os.write(2, b"FDERR raw\\n")
    print("PYPRINT python")
    return data, {"total": sum(data)}
'''


def test_captured_output_reads_both_descriptors_line_by_line():
    from crystallize.cli.tui.output import CapturedOutput

    output = CapturedOutput()
    lines: list[str] = []
    output.show_in(lines.append)
    with output.capture() as captured:
        assert captured
        assert output.terminal is not None and output.terminal.fileno() not in (1, 2)
        subprocess.run(["echo", "from a subprocess"], check=True)
        os.write(2, b"half a line")
        os.write(2, b", then the rest\nno newline at the end")
        deadline = time.monotonic() + 10
        while len(lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert lines == ["from a subprocess", "half a line, then the rest", "no newline at the end"]
    assert output.terminal is None


@sync
async def test_the_driver_draws_on_the_terminal_kept_aside(monkeypatch):
    import fcntl
    import pty
    import struct
    import termios

    from crystallize.cli.tui.output import terminal_driver

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    terminal = os.fdopen(slave, "w")
    try:
        import signal

        handlers = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}
        driver = terminal_driver(terminal)(CrystallizeApp("."))
        for number, handler in handlers.items():
            signal.signal(number, handler)
        assert driver._file is terminal
        assert driver._get_terminal_size() == (101, 33)
    finally:
        terminal.close()
        os.close(master)


@pytest.mark.skipif(os.name != "posix", reason="the capture is POSIX only")
@sync
async def test_a_runs_descriptor_output_goes_to_the_log_not_the_terminal(tmp_path, capfd):
    from crystallize.cli.tui.output import CapturedOutput

    folder = tmp_path / "experiments" / "noisy"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(textwrap.dedent(CONFIG.format(name="noisy", replicates=2, priority=0)))
    (folder / "datasources.py").write_text(textwrap.dedent(DATASOURCES))
    (folder / "steps.py").write_text(textwrap.dedent(NOISY_STEPS))
    capfd.readouterr()
    output = CapturedOutput()
    with output.capture():
        app = CrystallizeApp(".", output=output)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_run_screen(pilot, "noisy")
            await pilot.press("R")
            await wait_for(pilot, lambda: screen.controller is None and screen.done == 6)
            await wait_for(pilot, lambda: log_of(screen).count("FDERR raw") == 6)
            log = log_of(screen)
    assert "SUBPROC line 0" in log and "SUBPROC line 1" in log
    # print() reaches the log too (twice here: headless textual also echoes it to fd 1)
    assert log.count("PYPRINT python") >= 6
    leaked = capfd.readouterr()
    assert "SUBPROC" not in leaked.out + leaked.err
    assert "FDERR" not in leaked.out + leaked.err


def test_the_json_redirect_still_sends_descriptor_1_to_stderr(capfd):
    from crystallize.cli.targets import stdout_to_stderr

    with stdout_to_stderr():
        subprocess.run(["echo", "tool output"], check=True)
        print("python output")
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "tool output" in captured.err and "python output" in captured.err


# -- 3. Ctrl+C advice in the TUI's words -------------------------------------------------------
def test_ctrl_c_advice_says_to_press_r():
    from crystallize import metric_watch
    from crystallize.cli.tui.runner import in_tui_words

    advice = "stop the run (Ctrl+C keeps what finished)"
    assert advice in inspect.getsource(metric_watch).replace('"\n            "', ""), "the library's wording changed"
    message = (
        "Hypothesis 'better' reads 'mes', but no replicate has recorded that metric so far. Unless later "
        f"replicates record it, the hypotheses cannot be verified when the run ends: {advice} and fix the name."
    )
    worded = in_tui_words(message)
    assert "Ctrl" not in worded
    assert "the run ends: press R to stop the run (what finished is kept) and fix the name." in worded
    assert in_tui_words("press Ctrl-C to stop it") == "press R to stop it"


@sync
async def test_the_unrecorded_metric_warning_names_r_in_the_log_and_the_summary(make_experiment):
    config = CONFIG.format(name="typo", replicates=3, priority=0) + textwrap.dedent('''
        hypotheses:
          - name: bigger
            verifier: {welch_t_test: {alternative: greater}}
            metrics: totl
    ''')
    make_experiment("typo", config=config)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "typo")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None)
        await pilot.pause(0.2)
        log = log_of(screen)
        summary = " ".join(text_of(screen.query_one("#summary-body")).split())
    for text in (log, summary):
        assert "no replicate has recorded that metric so far" in text
        assert "press R to stop the run (what finished is kept)" in text
        assert "Ctrl+C" not in text


# -- 4. new experiments in a project without experiments/ --------------------------------------
def study(tmp_path: Path, folder: str, name: str) -> Path:
    path = tmp_path / folder
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(textwrap.dedent(CONFIG.format(name=name, replicates=2, priority=0)))
    (path / "datasources.py").write_text(textwrap.dedent(DATASOURCES))
    (path / "steps.py").write_text("from crystallize import pipeline_step\n\n\n@pipeline_step()\n"
                                   "def add_delta(data, *, delta=0.0):\n    return data\n\n\n@pipeline_step()\n"
                                   "def total(data):\n    return data, {'total': sum(data)}\n")
    return path


def test_new_goes_next_to_the_experiments_when_there_is_no_experiments_folder(tmp_path):
    study(tmp_path, "studies/first", "alpha")
    folder = scaffold("beta", project=tmp_path)
    assert folder == tmp_path / "studies" / "beta"
    assert not (tmp_path / "experiments").exists()
    with pytest.raises(UserError, match=r"'alpha' already exists in .*studies/first"):
        scaffold("alpha", project=tmp_path)
    with pytest.raises(UserError, match="both would store their runs as 'alpha'"):
        scaffold("alpha", parent=tmp_path / "experiments", project=tmp_path)
    assert not (tmp_path / "experiments").exists()


def test_new_goes_to_the_project_when_the_experiments_are_in_several_places(tmp_path):
    study(tmp_path, "one/a", "a")
    study(tmp_path, "two/b", "b")
    assert scaffold("c", project=tmp_path) == tmp_path / "c"
    assert scaffold("d", project=tmp_path / "one" / "a") == tmp_path / "one" / "a" / "d"


def test_new_in_an_empty_project_still_makes_experiments(tmp_path):
    assert scaffold("first", project=tmp_path) == tmp_path / "experiments" / "first"


def test_cli_new_keeps_every_experiment_discovered(cli, tmp_path):
    study(tmp_path, "studies/first", "alpha")
    proc = cli("new", "beta")
    assert proc.returncode == 0, proc.stderr
    assert "Created studies/beta/" in proc.stdout
    assert "creating experiments/ would hide them from discovery" in proc.stdout
    assert "Run it with: crystallize run beta" in proc.stdout
    listing = cli("list").stdout
    assert "alpha" in listing and "beta" in listing
    refused = cli("new", "alpha")
    assert refused.returncode == 2 and "already exists in studies/first" in refused.stderr


@sync
async def test_tui_n_keeps_every_experiment_discovered(tmp_path):
    study(tmp_path, "studies/first", "alpha")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"beta", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SelectionScreen))
        await pilot.pause()
        tree = app.screen.query_one("#catalog-tree")
        assert {"• alpha", "• beta"} <= set(labels(tree))
        assert notifications(app)[-1].startswith("Created studies/beta. The project has no experiments/ folder")
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"alpha", "enter")
        await pilot.pause()
        message = str(app.screen.query_one("#new-message").content)
    assert "an experiment named 'alpha' already exists in studies/first" in message
    assert (tmp_path / "studies" / "beta" / "config.yaml").is_file()
    assert not (tmp_path / "experiments").exists()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
