"""``Experiment.from_yaml``: load a folder experiment (and the experiments it reads from).

Loading goes in this order, and stops at the first stage with problems:

1. ``config.yaml`` is parsed with YAML's safe loader (syntax errors give line/column).
2. Its structure is validated with pydantic (unknown keys, wrong types, missing fields).
3. Experiments named in ``experiment#output`` datasources (top-level or a treatment's)
   are found among the sibling folders (by experiment name) and loaded first; a cycle
   is an error.
4. The folder's Python modules are imported afresh.
5. Every name used is looked up (did-you-mean suggestions) and the parts are built.
6. ``config.state.json`` is applied (disabled treatments, step cache switches).

Before stage 3, a folder inside an ``experiments`` directory is refused when an earlier
folder there (in path order, as :func:`~crystallize.config.discover` goes) declares the
same experiment name: both would keep their runs and files under the same name.

Nothing runs: the result is an :class:`~crystallize.Experiment` ready for ``run()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crystallize.config.build import Builder, build_plugins
from crystallize.config.errors import (
    ConfigCycleError,
    ConfigValidationError,
    Problem,
    did_you_mean,
    display_path,
)
from crystallize.config.modules import load_folder_modules
from crystallize.config.options import CliOptions
from crystallize.config.schema import Call, ExperimentConfig, name_problem
from crystallize.config.state import apply_state, load_state, state_path
from crystallize.config.validate import format_path, validate_document
from crystallize.config.yaml_io import FieldPath, YamlDocument, load_config_text, load_yaml
from crystallize.exceptions import ConfigError
from crystallize.experiment import Experiment
from crystallize.pipeline import Pipeline

CONFIG_FILE = "config.yaml"


def resolve_config_path(path: str | Path) -> Path:
    """The ``config.yaml`` meant by ``path`` (the file itself, or a folder containing one).

    Raises:
        ConfigError: there is no such file, or it is one of the folder's Python modules.
    """
    target = Path(path)
    if target.is_dir():
        target = target / CONFIG_FILE
    elif target.suffix.lower() == ".py":  # steps.py given for its folder: not YAML to parse
        raise ConfigError(
            f"{display_path(target)} is Python code, not a config: give the experiment's folder "
            f"({display_path(target.parent)}) or its {CONFIG_FILE}."
        )
    if not target.is_file():
        raise ConfigError(
            f"{display_path(target)}: no such file. A folder experiment is a folder holding "
            f"{CONFIG_FILE} beside datasources.py, steps.py and (optionally) verifiers.py and outputs.py."
        )
    return target.resolve()


def load_experiment(path: str | Path) -> Experiment:
    """Build the experiment described by a ``config.yaml`` (or the folder holding one).

    Args:
        path: the config file or its folder.

    Returns:
        The experiment, with these extra attributes: ``config_path`` (the config file),
        ``cli`` (:class:`~crystallize.config.options.CliOptions`), ``outputs``
        (``{alias: Artifact}``), ``state`` (the applied
        :class:`~crystallize.config.state.ExperimentState`), ``declared_treatments``
        (every treatment in the config, disabled ones included) and ``upstream``
        (the names of the experiments it reads outputs from).

    Raises:
        ConfigError: anything wrong with the config, its modules or its upstream
            experiments; the message names the file, the field and what was expected.
    """
    return LoadSession().load(path)


class LoadSession:
    """Loads folder experiments, each folder once, sharing upstream experiments.

    One session is one consistent snapshot: each folder's modules are imported once,
    and an experiment read by several others is the same object in all of them.

    Args:
        unique_names: refuse a folder whose experiment name an earlier folder of its
            ``experiments`` directory declares (see :func:`check_unique_name`);
            :func:`~crystallize.config.discover`, which checks the names of what it
            loads itself, turns it off.

    Attributes:
        loaded: ``{folder: Experiment}`` of everything loaded so far.
        upstream_folders: ``{folder: {upstream name: upstream folder}}``.
    """

    def __init__(self, *, unique_names: bool = True) -> None:
        self.loaded: dict[Path, Experiment] = {}
        self.upstream_folders: dict[Path, dict[str, Path]] = {}
        self.unique_names = unique_names
        self._stack: list[tuple[Path, str]] = []
        self._names: dict[Path, dict[str, list[Path]]] = {}
        self._first_named: dict[Path, dict[str, Path]] = {}

    def load(self, path: str | Path) -> Experiment:
        """Load the experiment at ``path`` (or return it if this session already did)."""
        config_file = resolve_config_path(path)
        folder = config_file.parent
        if folder in self.loaded:
            return self.loaded[folder]
        experiment = self._load(config_file)
        self.loaded[folder] = experiment
        return experiment

    def closure(self, folder: Path) -> list[Experiment]:
        """The experiment loaded from ``folder`` and every experiment it reads from, recursively."""
        seen: dict[Path, Experiment] = {}
        pending = [folder.resolve()]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.loaded:
                continue
            seen[current] = self.loaded[current]
            pending.extend(self.upstream_folders.get(current, {}).values())
        return list(seen.values())

    # -- stages --------------------------------------------------------------------------
    def _load(self, config_file: Path) -> Experiment:
        folder = config_file.parent
        doc = load_yaml(config_file)
        config = validate_document(doc)
        name = config.name or folder.name
        problem = name_problem(name) if config.name is None else None
        if problem:
            raise ConfigValidationError([Problem(config_file, "name", f"the folder name is used as the experiment name, but {problem}; set name:")])
        if self.unique_names or self._stack:  # an upstream is checked even under discover()
            check_unique_name(config_file, name, self._first_named)
        self._stack.append((folder, name))
        try:
            upstream = self._upstream(doc, config, folder)
        finally:
            self._stack.pop()
        modules = load_folder_modules(folder)
        state = load_state(folder)
        builder = Builder(doc, config, modules, upstream)
        outputs = builder.outputs()
        datasource = builder.datasource()
        steps = builder.steps(outputs)
        treatments = builder.treatments()
        hypotheses = builder.hypotheses()
        builder.check()
        swapped_in = [step for treatment in treatments for step in treatment.own_steps()]
        active = apply_state(state, treatments, steps + swapped_in, state_path(folder))
        experiment = Experiment(
            datasource=datasource,
            pipeline=Pipeline(steps),
            plugins=build_plugins(config.plugins),
            initial_ctx=config.initial_ctx,
            treatments=active,
            hypotheses=hypotheses,
            replicates=config.replicates,
            name=name,
            description=config.description,
        )
        attach(experiment, config_file, config, outputs, state, treatments, upstream)
        return experiment

    def _upstream(self, doc: YamlDocument, config: ExperimentConfig, folder: Path) -> dict[str, Experiment]:
        """Load every experiment ``config`` reads an output of, ``{name: Experiment}``."""
        found: dict[str, Experiment] = {}
        problems = []
        for path, name in upstream_references(config):
            if name in found:
                continue
            field = format_path(path)
            candidates = self._folders_named(folder.parent).get(name, [])
            if not candidates:
                names = self._folders_named(folder.parent)
                problems.append(
                    Problem(
                        doc.path, field,
                        f"no experiment named '{name}' among the folders beside this one "
                        f"({display_path(folder.parent)})" + did_you_mean(name, names, what="experiments"),
                        doc.line_of(path),
                    )
                )
                continue
            if len(candidates) > 1:
                listed = ", ".join(display_path(c) for c in candidates)
                problems.append(Problem(doc.path, field, f"several experiments are named '{name}' ({listed})", doc.line_of(path)))
                continue
            target = candidates[0]
            on_stack = [f for f, _ in self._stack]
            if target in on_stack:
                cycle = [n for _, n in self._stack[on_stack.index(target):]] + [name]
                raise ConfigCycleError(cycle, where=f"{display_path(doc.path)}: {field}", line=doc.line_of(path))
            self.upstream_folders.setdefault(folder, {})[name] = target
            try:
                found[name] = self.load(target)
            except ConfigCycleError:
                raise
            except ConfigError as exc:
                # The line goes beside this file's field: the nested message ends with its own.
                line = doc.line_of(path)
                where = f" (line {line})" if line is not None else ""
                raise ConfigValidationError(
                    [Problem(doc.path, field, f"the upstream experiment '{name}' could not be loaded{where}:\n{exc}")]
                ) from exc
        if problems:
            raise ConfigValidationError(problems)
        return found

    def _folders_named(self, root: Path) -> dict[str, list[Path]]:
        """``{experiment name: [folder, ...]}`` of the experiment folders directly in ``root``."""
        if root not in self._names:
            names: dict[str, list[Path]] = {}
            for child in sorted(p for p in root.iterdir() if (p / CONFIG_FILE).is_file()):
                names.setdefault(declared_name(child / CONFIG_FILE) or child.name, []).append(child.resolve())
            self._names[root] = names
        return self._names[root]


def experiments_directory_of(folder: Path) -> Path | None:
    """The nearest directory named ``experiments`` holding ``folder`` (``None`` without one)."""
    from crystallize.config.discovery import EXPERIMENTS_DIR

    return next((parent for parent in folder.parents if parent.name == EXPERIMENTS_DIR), None)


def name_taken(config_file: Path, name: str, first: Path) -> ConfigError:
    """The error for ``config_file``, whose experiment name ``name`` the earlier
    ``first`` (a ``config.yaml``) already has."""
    return ConfigError(
        f"{display_path(config_file)}: the experiment name '{name}' is already used by "
        f"{display_path(first)}; experiment names must be unique"
    )


def check_unique_name(config_file: Path, name: str, cache: dict[Path, dict[str, Path]] | None = None) -> None:
    """Raise when another folder, before ``config_file``'s (in path order) under the same
    ``experiments`` directory, declares the experiment name ``name``: the error
    :func:`~crystallize.config.discover` gives the later folder. Only the names are read
    (``name:``, else the folder name), nothing is imported.

    Args:
        config_file: the (resolved) ``config.yaml`` being loaded.
        name: its experiment name.
        cache: ``{experiments directory: {name: first config.yaml}}``, filled in as the
            directories are read, so a session reads each once.

    Raises:
        ConfigError: the name is taken, saying by which folder.
    """
    from crystallize.config.discovery import find_configs

    root = experiments_directory_of(config_file.parent)
    if root is None:
        return
    cache = {} if cache is None else cache
    if root not in cache:
        first: dict[str, Path] = {}
        for config in find_configs(root):
            first.setdefault(declared_name(config) or config.parent.name, config.resolve())
        cache[root] = first
    earlier = cache[root].get(name)
    if earlier is not None and earlier.parent != config_file.parent:  # another folder
        raise name_taken(config_file, name, earlier)


def upstream_references(config: ExperimentConfig) -> list[tuple[FieldPath, str]]:
    """``(field path, experiment name)`` of every ``experiment#output`` datasource of ``config``:
    the top-level ``datasource:`` aliases, then the treatments' ``datasource:``."""
    calls: list[tuple[FieldPath, Call | None]] = [(("datasource", alias), call) for alias, call in config.datasource.items()]
    calls += [(("treatments", name, "datasource"), spec.datasource) for name, spec in config.treatments.items()]
    return [(path, call.upstream[0]) for path, call in calls if call is not None and call.upstream is not None]


def declared_name(config_file: Path) -> str | None:
    """The ``name:`` of a config file, read leniently (``None`` when absent or unreadable)."""
    try:
        data: Any = load_config_text(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def attach(
    experiment: Experiment,
    config_file: Path,
    config: ExperimentConfig,
    outputs: dict[str, Any],
    state: Any,
    treatments: list[Any],
    upstream: dict[str, Experiment],
) -> None:
    """Set the attributes a loaded experiment carries besides the engine's (see :func:`load_experiment`)."""
    cli = config.cli
    experiment.config_path = config_file
    experiment.cli = CliOptions(cli.group, cli.priority, cli.icon, cli.color, cli.hidden)
    experiment.outputs = outputs
    experiment.state = state
    experiment.declared_treatments = tuple(treatments)
    experiment.upstream = tuple(upstream)


__all__ = [
    "CONFIG_FILE",
    "LoadSession",
    "check_unique_name",
    "declared_name",
    "experiments_directory_of",
    "load_experiment",
    "name_taken",
    "resolve_config_path",
    "upstream_references",
]
