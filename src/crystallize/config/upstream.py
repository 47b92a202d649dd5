"""Datasources built from ``config.yaml``: another experiment's output, and several sources at once.

``datasource: {features: producer#result}`` makes an :class:`UpstreamOutput`: every
replicate reads the file of output ``result`` written by experiment ``producer``:

* from the latest artifact version of ``producer`` (``<root>/producer/v<N>``),
* for its ``baseline`` condition (whatever condition the consumer runs),
* for the same replicate index as the consumer's replicate; when the consumer has more
  replicates than the producer left on disk, index ``r`` reads replicate
  ``r % n``, where ``n`` is one more than the highest replicate directory found,

and decodes it with the output's ``loader`` (raw bytes without one). ``<root>`` is the
consuming experiment's ``plugins.artifacts.root_dir`` (``data`` by default, relative to
the working directory), which must be the producer's too.

Several aliases make a :class:`CombinedSource` whose data is ``{alias: value}``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from crystallize.artifacts import load_artifact_file
from crystallize.datasource import DataSource
from crystallize.exceptions import ConfigError
from crystallize.store.artifacts import artifact_path, latest_version, version_dir
from crystallize.treatment import BASELINE
from crystallize.utils.context import FrozenContext


class MissingUpstreamArtifactError(ConfigError):
    """The artifact file another experiment should have written is not on disk."""


class UpstreamOutput(DataSource):
    """A datasource that loads an output file written by another experiment.

    Args:
        experiment: the upstream experiment's name.
        output: the alias of the output in the upstream experiment's ``outputs``.
        file_name: the artifact file name (defaults to ``output``).
        loader: ``fn(bytes) -> object`` decoding the file (raw bytes without one).
        root_dir: the artifact root the upstream experiment writes under.
        upstream_fingerprint: the upstream experiment's spec fingerprint, when known, so
            a changed upstream also changes this experiment's fingerprint (and a resumed
            run recomputes).

    Picklable (the loader is pickled by reference), so process and Ray workers can use it.
    """

    def __init__(
        self,
        experiment: str,
        output: str,
        file_name: str | None = None,
        loader: Callable[[bytes], Any] | None = None,
        root_dir: str | os.PathLike[str] = "data",
        upstream_fingerprint: str | None = None,
    ) -> None:
        self.experiment = experiment
        self.output = output
        self.file_name = file_name or output
        self.loader = loader
        self.root_dir = os.fspath(root_dir)
        self.params = {
            "experiment": experiment,
            "output": output,
            "file_name": self.file_name,
            "loader": getattr(loader, "__qualname__", None),
            "upstream_fingerprint": upstream_fingerprint,
        }

    @property
    def name(self) -> str:
        """``experiment#output``."""
        return f"{self.experiment}#{self.output}"

    def path_for(self, replicate: int) -> Path:
        """The file consumer replicate ``replicate`` reads (see the module docstring).

        Raises:
            MissingUpstreamArtifactError: the upstream experiment has no artifacts, or the
                replicate's file does not exist.
        """
        root = Path(self.root_dir)
        version = latest_version(root, self.experiment)
        if version is None:
            raise MissingUpstreamArtifactError(
                f"Datasource '{self.name}': experiment '{self.experiment}' has no artifacts under "
                f"{root / self.experiment}. Run '{self.experiment}' first (an ExperimentGraph runs "
                "upstream experiments first), with the same artifacts root_dir."
            )
        found = _replicate_dirs(version_dir(root, self.experiment, version) / BASELINE)
        count = max(found) + 1 if found else 0
        index = replicate % count if count and replicate >= count else replicate
        path = artifact_path(root, self.experiment, version, BASELINE, index, self.file_name)
        if not path.is_file():
            raise MissingUpstreamArtifactError(
                f"Datasource '{self.name}': {path} does not exist. Replicate {index} of "
                f"'{self.experiment}' (baseline) did not write output '{self.output}' — it may have "
                "failed; see that run's errors, then run it again (strategy='resume' finishes "
                "failed replicates)."
            )
        return path

    def fetch(self, ctx: FrozenContext) -> Any:
        """Load and decode the upstream file for ``ctx["replicate"]``."""
        return load_artifact_file(self.path_for(int(ctx.get("replicate", 0))), self.loader)

    def __repr__(self) -> str:
        return f"UpstreamOutput({self.name!r}, file_name={self.file_name!r}, root_dir={self.root_dir!r})"


def _replicate_dirs(condition_dir: Path) -> list[int]:
    try:
        entries = list(os.scandir(condition_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [int(e.name) for e in entries if e.name.isdigit() and e.is_dir()]


class CombinedSource(DataSource):
    """Several datasources at once: the data is ``{alias: that source's data}``.

    Args:
        sources: ``{alias: DataSource}``, fetched in this order.

    Async sources are awaited (concurrently) when any source is async.
    """

    def __init__(self, sources: Mapping[str, DataSource]) -> None:
        from crystallize.fingerprint import code_hash

        self.sources = dict(sources)
        self.params = {
            alias: {
                "name": getattr(source, "name", type(source).__name__),
                "params": dict(getattr(source, "params", {}) or {}),
                "code": code_hash(source),
            }
            for alias, source in self.sources.items()
        }

    @property
    def name(self) -> str:
        """``combined(alias, ...)``."""
        return f"combined({', '.join(self.sources)})"

    def fetch(self, ctx: FrozenContext) -> Any:
        """``{alias: source.fetch(ctx)}``; a coroutine when any source is async."""
        values = {alias: source.fetch(ctx) for alias, source in self.sources.items()}
        if any(_awaitable(v) for v in values.values()):
            return _gather(values)
        return values

    def __repr__(self) -> str:
        return f"CombinedSource({self.sources!r})"


def _awaitable(value: Any) -> bool:
    return hasattr(type(value), "__await__")


async def _gather(values: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    pending = {alias: v for alias, v in values.items() if _awaitable(v)}
    done = await asyncio.gather(*pending.values())
    return {alias: (done[list(pending).index(alias)] if alias in pending else v) for alias, v in values.items()}


def upstream_refs(datasource: Any) -> Iterator[UpstreamOutput]:
    """Every :class:`UpstreamOutput` inside ``datasource`` (itself, or in a CombinedSource)."""
    if isinstance(datasource, UpstreamOutput):
        yield datasource
    elif isinstance(datasource, CombinedSource):
        for source in datasource.sources.values():
            yield from upstream_refs(source)


__all__ = ["CombinedSource", "MissingUpstreamArtifactError", "UpstreamOutput", "upstream_refs"]
