"""``crystallize new``: write a folder experiment that runs as created.

Without ``--example`` the folder is a minimal skeleton (one datasource, one step, one
metric). With ``--example`` it is a small genuine study: does a bigger sample estimate a
mean more accurately? Two treatments and a pre-declared hypothesis.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from crystallize.cli.errors import UserError
from crystallize.cli.targets import display

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

SKELETON_CONFIG = """\
# {name}: a minimal experiment. Run it with:  crystallize run {name}
# The format is described in docs/config.md.
name: {name}
description: A starting point; replace the datasource and the steps with your own.
replicates: 3

datasource: numbers          # a @data_source in datasources.py

steps:                       # @pipeline_step functions in steps.py, in order
  - total

plugins:
  seed: {{seed: 0}}
"""

SKELETON_DATASOURCES = '''\
"""Datasources of {name} (named in config.yaml under ``datasource:``)."""

import random

from crystallize import data_source


@data_source
def numbers(ctx, n: int = 10) -> list[float]:
    """``n`` random numbers (seeded per replicate by the SeedPlugin)."""
    return [random.random() for _ in range(n)]
'''

SKELETON_STEPS = '''\
"""Pipeline steps of {name} (named in config.yaml under ``steps:``)."""

from crystallize import pipeline_step


@pipeline_step()
def total(data: list[float]) -> tuple[list[float], dict]:
    """Record the sum of the numbers as the metric ``total``."""
    return data, {{"total": sum(data)}}
'''

EXAMPLE_CONFIG = """\
# {name}: does a bigger sample estimate the mean of a population more accurately?
# Each replicate draws a fresh population sample; the baseline estimates the mean from
# 10 values, the treatments from 50 and 200. Run it with:  crystallize run {name}
name: {name}
description: Estimation error of the sample mean for sample sizes 10 (baseline), 50 and 200.
replicates: 12

cli:
  group: Examples
  priority: 10

datasource:
  population: {{normal_sample: {{size: 200, mean: 5.0, sd: 2.0}}}}

steps:
  - take_first              # keeps `sample_size` values (from the context)
  - estimate_mean           # records `abs_error` against the true mean

initial_ctx:
  sample_size: 10           # the baseline

treatments:
  sample_50: {{sample_size: 50}}
  sample_200: {{sample_size: 200}}

hypotheses:
  - name: smaller_error
    verifier: {{mann_whitney: {{alternative: less}}}}   # treatment errors below the baseline's
    metrics: abs_error
    correction: holm

plugins:
  seed: {{seed: 7}}
"""

EXAMPLE_DATASOURCES = '''\
"""Datasources of {name}."""

import random

from crystallize import data_source


@data_source
def normal_sample(ctx, size: int = 100, mean: float = 0.0, sd: float = 1.0) -> list[float]:
    """``size`` draws from a normal distribution (seeded per replicate)."""
    return [random.gauss(mean, sd) for _ in range(size)]
'''

EXAMPLE_STEPS = '''\
"""Pipeline steps of {name}."""

from statistics import fmean

from crystallize import pipeline_step


@pipeline_step()
def take_first(data: list[float], *, sample_size: int = 10) -> list[float]:
    """Keep the first ``sample_size`` values (a treatment changes ``sample_size``)."""
    return data[:sample_size]


@pipeline_step()
def estimate_mean(data: list[float], *, true_mean: float = 5.0) -> tuple[list[float], dict]:
    """Record how far the sample mean lands from the true mean."""
    return data, {{"abs_error": abs(fmean(data) - true_mean)}}
'''


def scaffold(name: str, example: bool = False, parent: str | Path = "experiments") -> Path:
    """Write the experiment folder ``<parent>/<name>`` and return it.

    Raises:
        UserError: the name is not usable or the folder already exists.
    """
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"'{name}' cannot name an experiment: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit."
        )
    folder = Path(parent) / name
    if folder.exists():
        raise UserError(f"{display(folder)} already exists; choose another name or remove it.")
    files = (
        {"config.yaml": EXAMPLE_CONFIG, "datasources.py": EXAMPLE_DATASOURCES, "steps.py": EXAMPLE_STEPS}
        if example
        else {"config.yaml": SKELETON_CONFIG, "datasources.py": SKELETON_DATASOURCES, "steps.py": SKELETON_STEPS}
    )
    folder.mkdir(parents=True)
    for file_name, template in files.items():
        (folder / file_name).write_text(template.format(name=name), encoding="utf-8")
    return folder


def new_command(
    name: str = typer.Argument(..., help="The new experiment's name (also its folder name)."),
    example: bool = typer.Option(False, "--example", help="Write a small complete study instead of a skeleton."),
    directory: str = typer.Option("experiments", "--dir", help="Where to create the folder."),
) -> None:
    """Create a folder experiment under experiments/NAME that runs as created."""
    folder = scaffold(name, example, directory)
    files = ", ".join(sorted(p.name for p in folder.iterdir()))
    print(f"Created {display(folder)}/ ({files}).")
    print(f"Run it with: crystallize run {name}")


__all__ = ["NAME_PATTERN", "new_command", "scaffold"]
