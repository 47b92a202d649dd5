"""Warnings raised while an experiment folder's own modules are imported (a deprecated
library call at the top of ``steps.py``) are shown, naming the file; Crystallize's own
warnings about folders nobody runs stay quiet."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from crystallize.config import discover

WARNING_STEPS = '''
import warnings

from crystallize import pipeline_step

warnings.warn("old_api() is deprecated; use new_api()", FutureWarning)


@pipeline_step()
def add_delta(data, ctx, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''

DEPRECATED_STEPS = WARNING_STEPS.replace("FutureWarning", "DeprecationWarning")

THREADED = """
replicates: 2
datasource: {source: numbers}
steps: [add_delta, total]
plugins:
  execution: {strategy: thread, workers: 2}
"""


def test_discover_shows_the_warnings_of_the_folders_modules(make_folder, tmp_path):
    folder = make_folder("noisy", steps=WARNING_STEPS)
    with pytest.warns(FutureWarning, match=r"old_api\(\) is deprecated") as caught:
        found = discover(tmp_path)
    assert "noisy" in found.experiments
    assert [Path(w.filename) for w in caught] == [(folder / "steps.py").resolve()]
    assert caught[0].lineno == 6


def test_crystallizes_own_warnings_about_other_folders_stay_quiet(make_folder, tmp_path, recwarn):
    make_folder("noisy", steps=WARNING_STEPS)
    make_folder("threaded", config=THREADED)
    discover(tmp_path)
    assert [type(w.message) for w in recwarn] == [FutureWarning]


def _crystallize(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    for name in ("FORCE_COLOR", "PYTHONWARNINGS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "crystallize.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("steps", "category"), [(WARNING_STEPS, "FutureWarning"), (DEPRECATED_STEPS, "DeprecationWarning")])
def test_run_shows_an_import_warning_of_steps_py_once_naming_the_file(make_folder, tmp_path, steps, category):
    make_folder("noisy", steps=steps)
    proc = _crystallize(tmp_path, "run", "noisy", "-n", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    line = f"warning: experiments/noisy/steps.py:6: {category}: old_api() is deprecated; use new_api()"
    assert proc.stderr.count(line) == 1, proc.stderr
    assert proc.stdout.lstrip().startswith("{")  # the JSON alone on stdout


def test_list_shows_each_folders_import_warning_once(make_folder, tmp_path):
    make_folder("noisy", steps=WARNING_STEPS)
    make_folder("other", steps=WARNING_STEPS)
    proc = _crystallize(tmp_path, "list")
    assert proc.returncode == 0, proc.stderr
    for name in ("noisy", "other"):
        assert proc.stderr.count(f"warning: experiments/{name}/steps.py:6: FutureWarning: old_api()") == 1, proc.stderr


def test_python_warning_options_still_apply(make_folder, tmp_path):
    make_folder("noisy", steps=WARNING_STEPS)
    env_run = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "crystallize.cli", "list"], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )
    assert env_run.returncode == 0, env_run.stderr
    assert "old_api" not in env_run.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as an import would, the warning fails that folder only
        found = discover(tmp_path)
    assert list(found.experiments) == []
    assert "old_api() is deprecated" in next(iter(found.errors.values())).message
