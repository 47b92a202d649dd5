"""Fixtures for the command and TUI tests: project folders and a way to run the command.

Every test already runs in its own empty ``tmp_path`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import (
    CONFIG,
    DATASOURCES,
    EVALUATE_CONFIG,
    EVALUATE_STEPS,
    HYPOTHESIS,
    STEPS,
    TRAIN_CONFIG,
    TRAIN_STEPS,
    crystallize_command,
)


@pytest.fixture
def make_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write ``experiments/<name>`` (config, datasources.py, steps.py); return the folder.

    ``make_experiment(name, replicates=3, priority=0, hypothesis=False, config=None,
    steps=None, datasources=None)``; ``config`` replaces the whole config text.
    """

    def make(
        name: str = "numbers",
        *,
        replicates: int = 3,
        priority: int = 0,
        hypothesis: bool = False,
        config: str | None = None,
        steps: str | None = None,
        datasources: str | None = None,
    ) -> Path:
        folder = tmp_path / "experiments" / name
        folder.mkdir(parents=True, exist_ok=True)
        text = config if config is not None else CONFIG.format(name=name, replicates=replicates, priority=priority)
        if hypothesis and config is None:
            text += HYPOTHESIS
        (folder / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        (folder / "datasources.py").write_text(textwrap.dedent(datasources or DATASOURCES), encoding="utf-8")
        (folder / "steps.py").write_text(textwrap.dedent(steps or STEPS), encoding="utf-8")
        return folder

    return make


@pytest.fixture
def make_graph(make_experiment: Callable[..., Path]) -> Callable[[], tuple[Path, Path]]:
    """Write ``train`` and ``evaluate`` (which reads ``train#model``)."""

    def make() -> tuple[Path, Path]:
        train = make_experiment("train", config=TRAIN_CONFIG, steps=TRAIN_STEPS)
        evaluate = make_experiment("evaluate", config=EVALUATE_CONFIG, steps=EVALUATE_STEPS)
        return train, evaluate

    return make


@pytest.fixture
def make_broken(tmp_path: Path) -> Callable[[str], Path]:
    """Write a folder whose config names a step that does not exist."""

    def make(name: str = "broken") -> Path:
        folder = tmp_path / "experiments" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text("datasource: numbers\nsteps: [totl]\n", encoding="utf-8")
        (folder / "datasources.py").write_text(textwrap.dedent(DATASOURCES), encoding="utf-8")
        (folder / "steps.py").write_text(textwrap.dedent(STEPS), encoding="utf-8")
        return folder

    return make




@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``crystallize ARGS`` in the test's directory; return the completed process."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": "", **(env or {})}
        environment.pop("FORCE_COLOR", None)
        return subprocess.run(
            [*crystallize_command(), *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
