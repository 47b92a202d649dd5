"""ArtifactPlugin: where a run's files, store and cache live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from pathlib import Path


class ArtifactPlugin(BasePlugin):
    """Owns the data directory of an experiment.

    Args:
        root_dir: directory holding the run store, the step cache and artifact files
            (``data`` by default, relative to the working directory).
        versioned: keep every run's artifacts under a new ``v<N>`` directory instead of
            replacing the previous run's.
    """

    def __init__(self, root_dir: str | Path = "data", versioned: bool = False) -> None:
        self.root_dir = root_dir
        self.versioned = versioned

    @property
    def root_path(self) -> Path:
        """``root_dir`` as a :class:`~pathlib.Path`."""
        from pathlib import Path

        return Path(self.root_dir)


__all__ = ["ArtifactPlugin"]
