"""``crystallize new``: write a folder experiment that runs as created.

Without ``--example`` the folder is a minimal skeleton (one datasource, one step, one
metric). With ``--example`` it is a small genuine study: does a bigger sample estimate a
mean more accurately? Two treatments and a pre-declared hypothesis.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from crystallize.cli.app import command_help
from crystallize.cli.errors import UserError
from crystallize.cli.shell import command_line
from crystallize.cli.targets import display

#: What `crystallize new` accepts as a name (matched against the whole name).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

SKELETON_CONFIG = """\
# {name}: a minimal experiment. Run it with:  crystallize run {name}
# The format is described in docs/config.md.
{name_field}
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
{name_field}
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


def scaffold(name: str, example: bool = False, parent: str | Path | None = None, project: str | Path = ".") -> Path:
    """Write the experiment folder ``<parent>/<name>`` and return it.

    Args:
        name: the experiment's name and folder name.
        example: write the example study instead of the skeleton.
        parent: the folder to create it in (created when missing); ``None`` for the
            default, :func:`default_parent` of ``project``.
        project: the directory whose experiments are discovered; a new folder inside its
            experiments tree must not repeat the name of one already there.

    Raises:
        UserError: the name is not usable or taken, or the folder cannot be created
            there (it exists, lies under a file, no permission, ...). Nothing is written.
    """
    from crystallize.cli.paths import check_new_folder, user_path, write_folder
    from crystallize.config.yaml_io import dump_config_text

    if not NAME_PATTERN.fullmatch(name):
        raise UserError(
            f"'{name}' cannot name an experiment: use ASCII letters (a-z, A-Z), digits, '-', '_' "
            "and '.', starting with a letter or digit (the name is also its folder's name)."
        )
    if parent is None:
        parent = default_parent(project)
    folder = user_path(parent, "--dir") / name
    check_new_folder(folder)
    check_name_is_free(name, folder, project)
    files = (
        {"config.yaml": EXAMPLE_CONFIG, "datasources.py": EXAMPLE_DATASOURCES, "steps.py": EXAMPLE_STEPS}
        if example
        else {"config.yaml": SKELETON_CONFIG, "datasources.py": SKELETON_DATASOURCES, "steps.py": SKELETON_STEPS}
    )
    # The name as config.yaml reads it back: '1e3', '010' or 'true' unquoted would be a number or a boolean.
    name_field = dump_config_text({"name": name}).rstrip("\n")
    texts = {file_name: template.format(name=name, name_field=name_field) for file_name, template in files.items()}
    write_folder(folder, texts)
    return folder


def default_parent(project: str | Path = ".") -> Path:
    """Where a new experiment goes when no folder is given (``crystallize new`` without
    ``--dir``, ``n`` in the interface): ``<project>/experiments``, unless that folder does
    not exist and discovery finds experiments elsewhere in the project (every
    ``**/config.yaml``). Creating ``experiments/`` would then hide all of them from
    discovery, which only searches ``experiments/`` once it exists; the new folder goes
    next to them instead: in the folder holding them all (``studies/`` for
    ``studies/a`` and ``studies/b``), else in ``project``."""
    import os

    from crystallize.config.discovery import EXPERIMENTS_DIR

    base = Path(project)
    experiments = base / EXPERIMENTS_DIR
    if experiments.is_dir():
        return experiments
    folders = experiment_names(base).values()
    if not folders:
        return experiments
    common = Path(os.path.commonpath([folder.resolve().parent for folder in folders]))
    if not common.is_relative_to(base.resolve()):  # the project folder itself is an experiment
        return base
    return base / common.relative_to(base.resolve())


def placement_note(folder: Path, project: str | Path = ".") -> str | None:
    """Why ``folder`` (made by :func:`scaffold` without a parent) is not in
    ``experiments/`` (``None`` when it is)."""
    from crystallize.config.discovery import EXPERIMENTS_DIR

    if is_within(folder, Path(project) / EXPERIMENTS_DIR):
        return None
    return (
        f"The project has no {EXPERIMENTS_DIR}/ folder, so its experiments are discovered "
        f"wherever they are; creating {EXPERIMENTS_DIR}/ would hide them from discovery, "
        "so the new one went next to them."
    )


def is_within(path: Path, directory: Path) -> bool:
    """True when ``path`` (which need not exist) lies inside ``directory``."""
    return path.resolve().is_relative_to(directory.resolve())


def discovery_dir(folder: Path, project: str | Path = ".") -> Path:
    """The directory discovery searches once ``folder`` exists (see ``experiments_dir``):
    ``<project>/experiments`` when it exists or ``folder`` creates it, else ``project``."""
    from crystallize.config.discovery import EXPERIMENTS_DIR

    experiments = Path(project) / EXPERIMENTS_DIR
    return experiments if experiments.is_dir() or is_within(folder, experiments) else Path(project)


def experiment_names(directory: Path) -> dict[str, Path]:
    """``{name: folder}`` of the experiment folders under ``directory``.

    Read from each ``config.yaml``'s ``name:`` (else the folder name, as the loader does)
    without importing any experiment code; a folder whose config does not parse still
    counts under its folder name.
    """
    from crystallize.config.discovery import find_configs
    from crystallize.config.loader import declared_name

    names: dict[str, Path] = {}
    if not directory.is_dir():
        return names
    for config in find_configs(directory):
        # Read as the loader reads it (YAML 1.2 values); a broken config still occupies
        # its folder's name.
        name = declared_name(config) or config.parent.name
        names.setdefault(name, config.parent)
    return names


def check_name_is_free(name: str, folder: Path, project: str | Path = ".") -> None:
    """Refuse ``name`` when the discovered experiments of ``project`` already use it:
    names must be unique among them, and a folder made elsewhere (``--dir``) would still
    store its runs under that name in the same default data directory, mixing both
    experiments' runs in ``runs``, ``show`` and ``delete``.

    The experiments discovered now count too when ``folder`` changes what discovery
    searches (it creates ``experiments/`` in a project whose experiments are elsewhere):
    their runs stay in the data directory under their names.

    Raises:
        UserError: naming the folder that already holds an experiment called ``name``.
    """
    from crystallize.config.discovery import experiments_dir

    directory = discovery_dir(folder, project)
    existing = experiment_names(directory).get(name)
    if existing is None:
        existing = experiment_names(experiments_dir(project)).get(name)
    if existing is None:
        return
    if is_within(folder, directory) and is_within(existing, directory):
        why = "experiment names must be unique"
    else:
        why = f"both would store their runs as '{name}' in the same data directory"
    raise UserError(f"an experiment named '{name}' already exists in {display(existing)}; {why}, so choose another name.")


def run_hint(name: str, folder: Path, project: str | Path = ".") -> str:
    """How to run the new experiment: by name when discovery finds it, else by path."""
    if is_within(folder, discovery_dir(folder, project)):
        return command_line(["crystallize", "run", name])
    return command_line(["crystallize", "run", display(folder)])


@command_help("Create a folder experiment (experiments/NAME by default) that runs as created.")
def new_command(
    name: str = typer.Argument(..., help="The new experiment's name (also its folder name)."),
    example: bool = typer.Option(False, "--example", help="Write a small complete study instead of a skeleton."),
    directory: str | None = typer.Option(
        None, "--dir",
        help="Where to create the folder (default: experiments/; in a project without one whose "
        "experiments are elsewhere, next to them).",
    ),
) -> None:
    folder = scaffold(name, example, directory)
    files = ", ".join(sorted(p.name for p in folder.iterdir()))
    print(f"Created {display(folder)}/ ({files}).")
    note = placement_note(folder) if directory is None else None
    if note is not None:
        print(note)
    print(f"Run it with: {run_hint(name, folder)}")


__all__ = [
    "NAME_PATTERN",
    "check_name_is_free",
    "default_parent",
    "discovery_dir",
    "experiment_names",
    "new_command",
    "placement_note",
    "run_hint",
    "scaffold",
]
