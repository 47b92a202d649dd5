"""Python warnings in the run screen's log: shown when raised (``validate()``'s before the
first replicate), once per run and place, worded as the command prints them, also from
process workers, never pointing into textual; once-per-process warnings shown on every
run; the summary's advice in the interface's words; a config error not naming its file
twice."""

from __future__ import annotations

import os
import warnings

import pytest
from cli_support import CONFIG
from test_tui_app import SIZE, highlight, log_of, open_run_screen, sync, tap, wait_for

from crystallize.cli.main import _show_warnings
from crystallize.cli.tui.app import CrystallizeApp


@pytest.fixture
def command_warnings():
    """Warnings shown as the ``crystallize`` command shows them (it does so before opening
    the interface); put back afterwards."""
    with warnings.catch_warnings():
        _show_warnings()
        yield


UNSUPPLIED_STEPS = '''

from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, *, threshold):
    return data, {"total": sum(x for x in data if x > threshold)}
'''


@sync
async def test_a_validate_warning_is_logged_before_the_first_replicate(make_experiment, command_warnings):
    make_experiment("unsupplied", steps=UNSUPPLIED_STEPS)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "unsupplied")
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None)
        await pilot.pause(0.2)
        log = log_of(screen)
    warned = log.index("warning: Step 'total' needs the parameter 'threshold', which nothing can supply")
    assert warned < log.index("✗ unsupplied · baseline #0")
    assert log.count("which nothing can supply") == 1


NOISY_STEPS = '''
import warnings

from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    warnings.warn("USERWARN from add_delta")
    return [x + delta for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''


@sync
async def test_a_step_warning_is_logged_once_per_run_with_its_place(make_experiment, command_warnings):
    make_experiment("noisy", steps=NOISY_STEPS)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "noisy")
        for _run in range(2):
            await pilot.press("R")
            await wait_for(pilot, lambda: screen.controller is None)
            await pilot.pause(0.2)
            log = log_of(screen)
            # 3 conditions x 3 replicates, one line, as the command prints it
            assert log.count("USERWARN") == 1
            assert "warning: experiments/noisy/steps.py:9: UserWarning: USERWARN from add_delta" in log


PROCESS_CONFIG = CONFIG + "  execution: {{strategy: process, workers: 2}}\n"

PROCESS_STEPS = '''
import warnings

from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    warnings.warn("PROCWARN from add_delta")
    return [x + delta for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''


@pytest.mark.skipif(not hasattr(os, "fork"), reason="process workers are forked here")
@sync
async def test_a_process_workers_warnings_reach_the_log(make_experiment, command_warnings):
    from crystallize.cli.tui.output import CapturedOutput

    make_experiment("procwarn", config=PROCESS_CONFIG.format(name="procwarn", replicates=3, priority=0),
                    steps=PROCESS_STEPS)
    output = CapturedOutput()
    with output.capture():
        app = CrystallizeApp(".", output=output)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_run_screen(pilot, "procwarn")
            await pilot.press("R")
            await wait_for(pilot, lambda: screen.controller is None)
            await wait_for(pilot, lambda: "PROCWARN" in log_of(screen), timeout=10)
            log = log_of(screen)
    # each worker shows it once, as `crystallize run` prints it
    assert "warning: experiments/procwarn/steps.py:9: UserWarning: PROCWARN from add_delta" in log


THREAD_CONFIG = CONFIG + "  execution: {{strategy: thread, workers: 2}}\n"


@sync
async def test_the_thread_warning_never_points_into_textual_and_is_logged_once_per_run(
    make_experiment, command_warnings, capfd
):
    make_experiment("threaded", config=THREAD_CONFIG.format(name="threaded", replicates=2, priority=0))
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "threaded")
        for _ in range(2):  # x loads the experiment again, twice over
            await highlight(pilot, screen, "treatment", "shifted")
            await pilot.press("x")
            await pilot.pause(0.2)
        before = log_of(screen)
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.controller is None)
        await pilot.pause(0.2)
        log = log_of(screen)
    printed = capfd.readouterr()
    for text in (before, log, printed.out, printed.err):
        assert "textual" not in text and "_callback.py" not in text
    assert "SeedPlugin is combined" not in before  # warned when the run starts
    assert log.count("SeedPlugin is combined with executor_type='thread'") == 1
    assert "warning: SeedPlugin is combined" in log


WINDOWS_NAME_CONFIG = '''
name: winname
replicates: 2
datasource: numbers
steps: [add_delta, write]
outputs:
  out: {file_name: out.txt}
treatments:
  "lr=0.1?": {delta: 3.0}
plugins:
  seed: {seed: 5}
'''

WINDOWS_NAME_STEPS = '''
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def write(data, out: Artifact):
    out.write("a")
    return data, {"total": sum(data)}
'''


@sync
async def test_a_once_per_process_warning_is_logged_on_every_run(make_experiment, command_warnings):
    make_experiment("winname", config=WINDOWS_NAME_CONFIG, steps=WINDOWS_NAME_STEPS)
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "winname")
        for _run in range(2):
            await pilot.press("R")
            await wait_for(pilot, lambda: screen.controller is None)
            await pilot.pause(0.2)
            assert log_of(screen).count("'lr=0.1?' contains '?', which Windows does not allow") == 1


@sync
async def test_a_config_that_does_not_load_is_named_once(make_experiment):
    folder = make_experiment("victim")
    app = CrystallizeApp(".")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_screen(pilot, "victim")
        config = folder / "config.yaml"
        config.write_text(config.read_text().replace("steps: [add_delta, total]", "steps: [add_delta, total"))
        await tap(pilot, "R")
        await wait_for(pilot, lambda: screen.load_error is not None)
        log = log_of(screen)
        await tap(pilot, "x")
        await pilot.pause(0.2)
        notices = [str(n.message) for n in app._notifications]
    assert "Cannot load experiments/victim/config.yaml: line " in log
    assert "config.yaml: experiments/victim/config.yaml" not in log
    assert notices[-1].startswith("experiments/victim/config.yaml cannot be loaded: line ")
