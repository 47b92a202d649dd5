"""Texts and helpers shared by the command and TUI tests (and their conftest).

Test modules import them from here, not from ``conftest``: several test folders have a
``conftest.py``, and which one ``import conftest`` finds depends on what pytest
collected first.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DATASOURCES = '''
import random

from crystallize import data_source


@data_source
def numbers(ctx, n=6):
    return [random.gauss(0.0, 1.0) for _ in range(n)]
'''

STEPS = '''
import time

from crystallize import pipeline_step


@pipeline_step(cacheable=True)
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx, *, fail_on=-1, pause=0.0):
    if pause:
        time.sleep(pause)
    if ctx["replicate"] == fail_on:
        raise ValueError("replicate chosen to fail")
    return data, {"total": sum(data)}
'''

CONFIG = '''
name: {name}
description: Shifting numbers by delta.
replicates: {replicates}
cli: {{group: Demo, priority: {priority}}}
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {{delta: 3.0}}
  doubled: {{delta: 6.0}}
plugins:
  seed: {{seed: 5}}
'''

HYPOTHESIS = '''
hypotheses:
  - name: bigger
    verifier: {welch_t_test: {alternative: greater}}
    metrics: total
'''

TRAIN_STEPS = '''
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def fit(data, ctx, model: Artifact):
    model.write(str(sum(data)))
    return data, {"fit": sum(data)}
'''

TRAIN_CONFIG = '''
name: train
replicates: 2
cli: {group: Graph}
datasource: numbers
steps: [fit]
outputs:
  model: {file_name: model.txt}
plugins:
  seed: {seed: 1}
'''

EVALUATE_STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def score(data):
    return data, {"score": float(data["model"]) + sum(data["fresh"])}
'''

EVALUATE_CONFIG = '''
name: evaluate
replicates: 2
cli: {group: Graph, priority: 1}
datasource:
  model: train#model
  fresh: numbers
steps: [score]
plugins:
  seed: {seed: 2}
'''


def crystallize_command() -> list[str]:
    """The installed ``crystallize`` script of this venv, else ``python -m crystallize.cli``."""
    script = shutil.which("crystallize", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "crystallize.cli"]


__all__ = [
    "DATASOURCES",
    "STEPS",
    "CONFIG",
    "HYPOTHESIS",
    "TRAIN_STEPS",
    "TRAIN_CONFIG",
    "EVALUATE_STEPS",
    "EVALUATE_CONFIG",
    "crystallize_command",
]
