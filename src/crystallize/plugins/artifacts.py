"""ArtifactPlugin: where a run's files, store and cache live."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from pathlib import Path

    from crystallize.experiment import Experiment
    from crystallize.result import Result


class ArtifactPlugin(BasePlugin):
    """Owns the data directory of an experiment.

    Args:
        root_dir: directory holding the run store, the step cache and artifact files
            (``data`` by default, relative to the working directory): a ``str``, an
            ``os.PathLike`` such as a :class:`~pathlib.Path`, or ``None`` for no store.
            A leading ``~`` or ``~user`` is expanded to that home directory (kept so in
            :attr:`root_dir`), never made a directory named ``~``.
        versioned: keep every run's artifacts under a new ``v<N>`` directory instead of
            replacing the previous run's (a bool).
    """

    def __init__(self, root_dir: str | Path | None = "data", versioned: bool = False) -> None:
        _check_root_dir(root_dir)
        if not isinstance(versioned, bool):
            raise TypeError(f"ArtifactPlugin versioned must be True or False, got {versioned!r}")
        self.root_dir = _home_expanded(root_dir)
        self.versioned = versioned

    @property
    def root_path(self) -> Path | None:
        """``root_dir`` as a :class:`~pathlib.Path`, or ``None`` when there is no store
        (``root_dir=None``)."""
        from pathlib import Path

        return None if self.root_dir is None else Path(self.root_dir)

    def after_run(self, experiment: Experiment, result: Result) -> None:
        """Record the run's artifact directory ``v<N>`` as ``result.info["artifact_version"]``."""
        location = getattr(experiment, "artifact_location", None)
        if location is not None:
            result.info["artifact_version"] = location.version


def require_root_for_artifacts(experiment: Experiment) -> None:
    """Raise ExperimentValidationError when a step writes artifacts but the experiment
    keeps no data directory (``ArtifactPlugin(root_dir=None)``): every replicate would
    fail on its first write. Called before a stored run starts; ``apply()`` and
    ``debug()`` give such steps a scratch directory instead."""
    from crystallize.exceptions import ExperimentValidationError

    base = list(experiment.pipeline.steps) if experiment.pipeline is not None else []
    steps = base + [step for t in experiment.treatments for step in t.resolve_steps(base)]
    writers: dict[str, set[str]] = {}
    for step in steps:
        names = {name for name, _ in getattr(step, "_artifacts", ())}  # Artifact parameters
        if names:
            writers.setdefault(step.name, set()).update(names)
    if writers:
        listed = "; ".join(
            f"step '{step}' writes artifacts ({', '.join(sorted(names))})" for step, names in writers.items()
        )
        raise ExperimentValidationError(
            f"Experiment '{experiment.name}': {listed}, but its ArtifactPlugin has root_dir=None, "
            "so there is nowhere to write them and every replicate would fail. Set a data "
            "directory, e.g. ArtifactPlugin(root_dir=\"data\"), or remove the Artifact parameters."
        )


def _check_root_dir(root_dir: object) -> None:
    """Raise TypeError unless ``root_dir`` is a ``str``, an ``os.PathLike`` or ``None``,
    and ValueError for an empty or blank path (it would put the store in the working
    directory, or in a directory named with spaces)."""
    if root_dir is None:
        return
    if not isinstance(root_dir, (str, os.PathLike)):
        raise TypeError(
            f"ArtifactPlugin root_dir must be a str, an os.PathLike (e.g. pathlib.Path) or None, "
            f"got {root_dir!r} ({type(root_dir).__name__}); e.g. ArtifactPlugin(root_dir=\"data\")"
        )
    path = os.fspath(root_dir)
    if isinstance(path, str) and not path.strip():
        raise ValueError(
            f"ArtifactPlugin root_dir is {root_dir!r}: pass a directory path for the run store "
            "and artifacts, e.g. ArtifactPlugin(root_dir=\"data\") (\".\" for the working "
            "directory itself), or root_dir=None for no store."
        )


def _home_expanded(root_dir: str | Path | None) -> str | Path | None:
    """``root_dir`` with a leading ``~``/``~user`` expanded (:func:`os.path.expanduser`),
    of the same type (a ``str`` stays a ``str``, a :class:`~pathlib.Path` a ``Path``).

    Raises:
        ValueError: It starts with a ``~`` that names no home directory (an unknown
            user): that path would make a directory named ``~user`` in the working
            directory.
    """
    if root_dir is None:
        return None
    path = os.fspath(root_dir)
    if not isinstance(path, str) or not path.startswith("~"):
        return root_dir
    expanded = os.path.expanduser(path)
    if expanded.startswith("~"):
        raise ValueError(
            f"ArtifactPlugin root_dir is {path!r}, whose leading '~' names no home directory "
            "(no such user, or no home directory known); give the directory in full, or "
            "start it with './' for a directory of that name in the working directory."
        )
    from pathlib import PurePath

    return type(root_dir)(expanded) if isinstance(root_dir, PurePath) else expanded

__all__ = ["ArtifactPlugin"]
