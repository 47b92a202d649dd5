"""A warning Crystallize raises points at the user's code, never at the command line's
machinery (typer, click) that called it; with no user code in the call, it names no place
(``crystallize run`` then prints it without one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

from crystallize.utils.callers import user_stacklevel

ISSUER = "/somewhere/crystallize/plugins/fake.py"


def _module(name: str, filename: str, source: str) -> dict:
    """Run ``source`` as the module ``name`` whose file is ``filename``; its globals."""
    namespace = {"__name__": name, "warnings": warnings, "user_stacklevel": user_stacklevel}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def _issue_through(*callers: tuple[str, str]) -> warnings.WarningMessage:
    """Warn from a Crystallize function called through ``callers`` (module, file) pairs,
    outermost first; return the warning."""
    issuer = _module(
        "crystallize.plugins.fake", ISSUER,
        "def issue():\n    warnings.warn('careful', RuntimeWarning, stacklevel=user_stacklevel())\n",
    )
    call = issuer["issue"]
    for name, filename in reversed(callers):
        call = _module(name, filename, "def make(inner):\n    def call():\n        return inner()\n    return call\n")["make"](call)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    [warning] = caught
    return warning


def test_a_warning_under_the_command_line_machinery_names_no_user_place():
    warning = _issue_through(
        ("click.core", "/venv/site-packages/click/core.py"),
        ("typer.main", "/venv/site-packages/typer/main.py"),
        ("crystallize.cli.run", "/somewhere/crystallize/cli/run.py"),
    )
    assert warning.filename == ISSUER  # Crystallize's own: the CLI prints it without a place


def test_a_warning_called_from_user_code_points_at_it():
    warning = _issue_through(
        ("experiment_script", "/home/me/experiment_script.py"),
        ("crystallize.experiment", "/somewhere/crystallize/experiment.py"),
    )
    assert warning.filename == "/home/me/experiment_script.py"


def test_an_experiment_folder_s_modules_are_the_user_s():
    from crystallize.config.modules import PACKAGE_PREFIX

    steps = f"{PACKAGE_PREFIX}.p1_demo.steps"
    warning = _issue_through(
        ("typer.main", "/venv/site-packages/typer/main.py"),
        ("crystallize.engine", "/somewhere/crystallize/engine.py"),
        (steps, "/home/me/experiments/demo/steps.py"),
    )
    assert warning.filename == "/home/me/experiments/demo/steps.py"


def test_a_worker_thread_s_warning_names_no_place():
    warning = _issue_through(
        ("threading", "/usr/lib/python3/threading.py"),
        ("concurrent.futures.thread", "/usr/lib/python3/concurrent/futures/thread.py"),
        ("crystallize.engine", "/somewhere/crystallize/engine.py"),
    )
    assert warning.filename == ISSUER


def test_crystallize_run_with_threads_prints_the_seed_warning_without_typer_s_place(tmp_path):
    folder = tmp_path / "experiments" / "crash"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        "name: crash\nreplicates: 2\ndatasource: numbers\nsteps: [total]\nplugins:\n  seed: {seed: 1}\n",
        encoding="utf-8",
    )
    (folder / "datasources.py").write_text(
        "from crystallize import data_source\n\n\n@data_source\ndef numbers(ctx):\n    return [1.0, 2.0]\n",
        encoding="utf-8",
    )
    (folder / "steps.py").write_text(
        "from crystallize import pipeline_step\n\n\n@pipeline_step()\ndef total(data, ctx):\n"
        "    return data, {'total': sum(data)}\n",
        encoding="utf-8",
    )
    script = shutil.which("crystallize", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "crystallize.cli"]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "CRYSTALLIZE_DEBUG": ""}
    done = subprocess.run(
        [*command, "run", "crash", "--executor", "thread"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "SeedPlugin is combined" in line]
    assert lines, done.stderr
    for line in lines:
        assert line.startswith("warning: SeedPlugin is combined with executor_type='thread'"), line
        assert "typer" not in line and "click" not in line
