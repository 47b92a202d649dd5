"""Finding every folder experiment of a project.

``discover(root)`` loads every ``config.yaml`` under the experiments directory:

* ``<root>/experiments`` when that directory exists, otherwise
* ``root`` itself (so passing the experiments directory directly works too).

Folders are searched recursively (``experiments/**/config.yaml``), skipping hidden
directories and ``__pycache__``. A folder that fails to load is recorded in
``errors`` and never hides the others. Warnings raised while a folder is built are
silenced (they concern experiments nobody may run, and are raised again when one runs),
except those raised by the folder's own modules (a deprecated library call at the top of
``steps.py``): those are the user's code speaking, and are warned again once the folder
is loaded, under Python's warning filters, naming the file and line.

``declared_folders(root)`` finds the same folders but only reads what each
``config.yaml`` declares (its experiment name and data directory), importing nothing:
commands that read stored runs use it, so they never run an experiment's code.
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crystallize.config.loader import CONFIG_FILE, LoadSession, name_taken
from crystallize.exceptions import ConfigError

if TYPE_CHECKING:
    from crystallize.config.graph import ExperimentGraph
    from crystallize.experiment import Experiment

EXPERIMENTS_DIR = "experiments"


@dataclass
class LoadFailure:
    """A folder that could not be loaded.

    Attributes:
        path: its ``config.yaml``.
        exception: what was raised (usually a :class:`~crystallize.exceptions.ConfigError`).
        traceback: the formatted traceback, causes included.
    """

    path: Path
    exception: BaseException
    traceback: str

    @property
    def message(self) -> str:
        """The exception's message (its type when it has none, e.g. ``MemoryError``)."""
        return str(self.exception) or type(self.exception).__name__


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes:
        root: the experiments directory searched.
        experiments: ``{name: Experiment}`` of every folder that loaded, in path order.
        graphs: ``{name: ExperimentGraph}`` for every experiment that reads other
            experiments' outputs: the graph of it and everything upstream of it.
        errors: ``{config path: LoadFailure}`` of every folder that failed.
    """

    root: Path
    experiments: dict[str, Experiment] = field(default_factory=dict)
    graphs: dict[str, ExperimentGraph] = field(default_factory=dict)
    errors: dict[Path, LoadFailure] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every folder loaded."""
        return not self.errors


def experiments_dir(root: str | Path) -> Path:
    """``<root>/experiments`` if it is a directory, else ``root``."""
    base = Path(root)
    candidate = base / EXPERIMENTS_DIR
    return candidate if candidate.is_dir() else base


def find_configs(directory: str | Path) -> list[Path]:
    """Every ``config.yaml`` below ``directory``, sorted, skipping hidden dirs and ``__pycache__``."""
    base = Path(directory)
    found = []
    for path in base.rglob(CONFIG_FILE):
        parts = path.relative_to(base).parts[:-1]
        if any(p.startswith(".") or p == "__pycache__" for p in parts) or not path.is_file():
            continue
        found.append(path.absolute())
    return sorted(found)


def discover(root: str | Path = ".") -> Discovery:
    """Load every folder experiment under ``root`` (see the module docstring).

    Args:
        root: a project directory holding ``experiments/``, or the experiments directory.

    Returns:
        The loaded experiments, their graphs and the failures, kept apart.
    """
    from crystallize.config.graph import ExperimentGraph

    directory = experiments_dir(root)
    found = Discovery(directory.resolve())
    session = LoadSession(unique_names=False)  # checked here, among the folders that load
    paths: dict[str, Path] = {}
    for config in find_configs(directory):
        try:
            experiment = _load_quietly(session, config)
            if experiment.name in paths:
                raise name_taken(config, experiment.name, paths[experiment.name])
        except Exception as exc:
            found.errors[config] = _failure(config, exc)
            continue
        paths[experiment.name] = config
        found.experiments[experiment.name] = experiment
    for name, experiment in found.experiments.items():
        if not getattr(experiment, "upstream", ()):
            continue
        config = paths[name]
        try:
            found.graphs[name] = ExperimentGraph.from_experiments(reversed(session.closure(config.parent.resolve())))
        except Exception as exc:
            found.errors[config] = _failure(config, exc)
    return found


def _load_quietly(session: LoadSession, config: Path) -> Experiment:
    """``session.load(config)``, its warnings held back: building every folder must not
    print warnings about experiments nobody asked to run (a thread executor in a sibling
    folder), which are warned about again when the experiment runs. Those raised by the
    folder's own modules are warned again afterwards (see :func:`_warn_again`). Only this
    thread's warnings are held back: another thread's are left to it."""
    from crystallize.utils.warnings_capture import capture_warnings

    caught: list[warnings.WarningMessage] = []
    try:
        with capture_warnings() as caught:
            return session.load(config)
    finally:
        _warn_again(caught, config.parent.resolve())


def _warn_again(caught: list[warnings.WarningMessage], folder: Path) -> None:
    """Warn again each of ``caught`` raised by a module of ``folder``, under its module's
    name, so that the filters in force apply as they would have to the warning itself."""
    from crystallize.config.modules import package_name

    for warning in caught:
        file = Path(warning.filename)
        if file.parent != folder or file.suffix != ".py":
            continue
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno,
            module=f"{package_name(folder)}.{file.stem}", source=warning.source,
        )


@dataclass(frozen=True)
class DeclaredFolder:
    """What a folder experiment's ``config.yaml`` declares, read without importing its code.

    Attributes:
        name: its experiment name: ``name:``, else the folder's name (as the loader names it).
        root: its data directory, ``plugins.artifacts.root_dir`` (``data`` by default,
            relative to the working directory); ``None`` for ``root_dir: null`` (no store).
        config: its ``config.yaml``.
    """

    name: str
    root: Path | None
    config: Path


def declared_folder(config_file: Path, *, strict: bool = False) -> DeclaredFolder:
    """What ``config_file`` declares, read once with the safe YAML loader; nothing is
    imported or validated. A value of the wrong type takes its default. A file that
    cannot be read or parsed declares the defaults too, unless ``strict``.

    Raises:
        ConfigValidationError: with ``strict``, the file cannot be read or parsed (the
            message gives the line and column), or it does not hold a mapping.
    """
    from crystallize.config.yaml_io import load_yaml

    try:
        data = load_yaml(config_file).data
    except ConfigError:
        if strict:
            raise
        data = None
    if strict and data is not None and not isinstance(data, dict):
        from crystallize.config.errors import ConfigValidationError, Problem

        raise ConfigValidationError([Problem(config_file, "", "the file must hold a mapping of settings")])
    config = _mapping(data)
    name = config.get("name")
    return DeclaredFolder(
        name if isinstance(name, str) and name else config_file.resolve().parent.name,
        _declared_root(config),
        config_file,
    )


def declared_folders(root: str | Path = ".") -> list[DeclaredFolder]:
    """What every folder that :func:`discover` would load declares, in path order, read
    by :func:`declared_folder` (no module is imported)."""
    return [declared_folder(config) for config in find_configs(experiments_dir(root))]


def _declared_root(config: dict) -> Path | None:
    """The ``plugins.artifacts.root_dir`` of a config's data: the schema's default
    (``data``) when it is absent or not a directory name; ``None`` when it is ``null``.
    A leading ``~``/``~user`` is expanded to that home directory, as the run expands it
    (see :func:`~crystallize.store.opening.data_directory`); one naming no home
    directory is kept as written (the run refuses it)."""
    from crystallize.config.schema import ArtifactsSpec
    from crystallize.exceptions import StoreError
    from crystallize.store.opening import data_directory

    default = Path(ArtifactsSpec.model_fields["root_dir"].default)
    artifacts = _mapping(_mapping(config.get("plugins")).get("artifacts"))
    value = artifacts.get("root_dir", str(default))
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return default
    try:
        return data_directory(value)
    except (StoreError, ValueError):  # ~user naming no home directory; a NUL byte
        return Path(value)


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _failure(path: Path, exc: BaseException) -> LoadFailure:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return LoadFailure(path, exc, text)


__all__ = [
    "EXPERIMENTS_DIR",
    "DeclaredFolder",
    "Discovery",
    "LoadFailure",
    "declared_folder",
    "declared_folders",
    "discover",
    "experiments_dir",
    "find_configs",
]
