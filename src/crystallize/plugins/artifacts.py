"""ArtifactPlugin: where a run's files, store and cache live."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from pathlib import Path


class ArtifactPlugin(BasePlugin):
    """Owns the data directory of an experiment.

    Args:
        root_dir: directory holding the run store, the step cache and artifact files
            (``data`` by default, relative to the working directory): a ``str``, an
            ``os.PathLike`` such as a :class:`~pathlib.Path`, or ``None`` for no store.
        versioned: keep every run's artifacts under a new ``v<N>`` directory instead of
            replacing the previous run's (a bool).
    """

    def __init__(self, root_dir: str | Path | None = "data", versioned: bool = False) -> None:
        _check_root_dir(root_dir)
        if not isinstance(versioned, bool):
            raise TypeError(f"ArtifactPlugin versioned must be True or False, got {versioned!r}")
        self.root_dir = root_dir
        self.versioned = versioned

    @property
    def root_path(self) -> Path:
        """``root_dir`` as a :class:`~pathlib.Path`."""
        from pathlib import Path

        return Path(self.root_dir)


def _check_root_dir(root_dir: object) -> None:
    """Raise TypeError unless ``root_dir`` is a ``str``, an ``os.PathLike`` or ``None``."""
    if root_dir is None or isinstance(root_dir, (str, os.PathLike)):
        return
    raise TypeError(
        f"ArtifactPlugin root_dir must be a str, an os.PathLike (e.g. pathlib.Path) or None, "
        f"got {root_dir!r} ({type(root_dir).__name__}); e.g. ArtifactPlugin(root_dir=\"data\")"
    )


__all__ = ["ArtifactPlugin"]
