"""Fixtures writing folder experiments (config.yaml + modules) into the test's tmp dir."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

DATASOURCES = '''
import random

from crystallize import data_source


@data_source
def numbers(ctx, n=8):
    return [random.gauss(0.0, 1.0) for _ in range(n)]


@data_source
def constant(ctx, value=1.0, n=3):
    return [value] * n
'''

STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, ctx, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def scale(data, *, factor=1.0):
    return [x * factor for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''

CONFIG = '''
replicates: 6
datasource: {source: numbers}
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
hypotheses:
  - name: bigger
    verifier: {welch_t_test: {alternative: greater}}
    metrics: total
plugins:
  seed: {seed: 3}
'''

_DEFAULT = object()


@pytest.fixture
def experiments_root(tmp_path: Path) -> Path:
    """``<tmp>/experiments``, created."""
    root = tmp_path / "experiments"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture
def make_folder(experiments_root: Path) -> Callable[..., Path]:
    """Write a folder experiment and return its folder.

    ``make_folder(name, config=..., steps=..., datasources=..., verifiers=..., outputs=...)``:
    text arguments are dedented; ``datasources`` and ``steps`` default to small working
    modules and ``config`` to a small working config; pass ``None`` to leave a file out.
    """

    def make(
        name: str = "demo",
        config: str | None = CONFIG,
        *,
        root: Path | None = None,
        datasources: str | None | object = _DEFAULT,
        steps: str | None | object = _DEFAULT,
        **files: str,
    ) -> Path:
        folder = (root or experiments_root) / name
        folder.mkdir(parents=True, exist_ok=True)
        texts: dict[str, str | None] = {
            "datasources": DATASOURCES if datasources is _DEFAULT else datasources,  # type: ignore[dict-item]
            "steps": STEPS if steps is _DEFAULT else steps,  # type: ignore[dict-item]
            **files,
        }
        if config is not None:
            (folder / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
        for stem, text in texts.items():
            if text is not None:
                (folder / f"{stem}.py").write_text(textwrap.dedent(text), encoding="utf-8")
        return folder

    return make
