"""Artifacts: named files a step writes for each condition × replicate.

A step receives an :class:`Artifact` through a keyword parameter annotated ``Artifact``
(fixed when the step is built, or created from the parameter's name when it is not) and
calls ``.write(...)``. While a replicate runs, the handle is bound to its location::

    <root_dir>/<experiment>/v<version>/<condition>/<replicate>/<name>

Files are written atomically (temporary file, then rename). With
``ArtifactPlugin(versioned=True)`` each run gets a new ``v<N>``; otherwise ``v0`` is
replaced by the latest run. A step writing a name an earlier step of the same replicate
wrote replaces that file, with a warning; so does a name differing from one written
earlier only by case, which is the same file on macOS and Windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from crystallize.store.artifacts import artifact_path, atomic_write_bytes, validate_artifact_name

if TYPE_CHECKING:
    from pathlib import Path

    from crystallize.utils.context import FrozenContext


class ArtifactLocation:
    """Where a run's artifacts go: root directory, experiment name and version, and the
    id of the stored run writing there (``None`` for a run that is not stored).

    ``ended`` is set when the run ends: a replicate still running then (a thread of a
    cancelled run finishing in the background, its result dropped) can no longer write
    there, where a later run of the experiment may be writing already.
    """

    __slots__ = ("root", "experiment", "version", "run_id", "ended")

    def __init__(self, root: str | Path, experiment: str, version: int, run_id: str | None = None) -> None:
        from pathlib import Path

        self.root = Path(root)
        self.experiment = experiment
        self.version = version
        self.run_id = run_id
        self.ended = False

    def path(self, condition: str, replicate: int, name: str) -> Path:
        """The file of artifact ``name`` for one condition × replicate."""
        return artifact_path(self.root, self.experiment, self.version, condition, replicate, name)

    def __reduce__(self):
        return (ArtifactLocation, (str(self.root), self.experiment, self.version, self.run_id))


@contextlib.contextmanager
def scratch_location(experiment: str) -> Iterator[ArtifactLocation]:
    """A location in a temporary directory, removed when the block ends.

    ``experiment.apply()`` and ``experiment.debug()`` (without ``store=True``) store
    nothing, yet a step with an :class:`Artifact` parameter must be able to write (and
    read back) its files while it runs: they go here.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="crystallize-scratch-") as root:
        yield ArtifactLocation(root, experiment, 0)


class Artifact:
    """A named output file of a step.

    Args:
        name: the file name (may contain ``/`` for sub-directories); ``..``, absolute
            paths, parts longer than 255 bytes and names Windows cannot use (``a:b``,
            ``nul``) are rejected here, when the Artifact is created.
        loader: ``fn(bytes) -> object`` used by :meth:`load` (default: the raw bytes).
        writer: ``fn(object) -> bytes`` used by :meth:`write` for values that are not
            bytes or str.
    """

    __slots__ = ("name", "loader", "writer", "_path", "_written", "_earlier", "_location", "_ctx")

    def __init__(
        self,
        name: str,
        loader: Callable[[bytes], Any] | None = None,
        writer: Callable[[Any], bytes] | None = None,
    ) -> None:
        self.name = validate_artifact_name(name)
        self.loader = loader
        self.writer = writer
        self._path: Path | None = None
        #: The replicate's list of the names written so far (shared by its steps)...
        self._written: list[str] | None = None
        #: ...of which the first ``_earlier`` were written before this handle was bound
        #: (a step's handles are bound when it starts: by earlier steps).
        self._earlier = 0
        self._location: ArtifactLocation | None = None  # the run's, once bound
        #: The replicate's context, once bound: a read during a cacheable step is noted
        #: there (part of the step's cache key).
        self._ctx: FrozenContext | None = None

    # -- binding (done by the engine for each replicate) ----------------------------------
    def bind(self, ctx: FrozenContext) -> Artifact:
        """A copy of this artifact bound to the replicate that ``ctx`` belongs to."""
        location = ctx.artifact_location
        bound = Artifact.__new__(Artifact)
        bound.name, bound.loader, bound.writer = self.name, self.loader, self.writer
        bound._written = ctx.artifacts_written
        bound._earlier = len(bound._written) if bound._written is not None else 0
        bound._location = location
        bound._ctx = ctx
        values = ctx._data  # not ctx.get: binding is no read of the step's (no cache key part)
        bound._path = (
            location.path(values.get("condition", "baseline"), values.get("replicate", 0), self.name)
            if location is not None
            else None
        )
        return bound

    @property
    def path(self) -> Path:
        """The file this handle writes to (only while a replicate runs)."""
        if self._path is None:
            raise RuntimeError(
                f"Artifact '{self.name}' is not bound to a replicate: artifacts can be written "
                "only by a step running inside experiment.run() (with an ArtifactPlugin whose "
                "root_dir is set), apply() or debug()."
            )
        return self._path

    # -- I/O -------------------------------------------------------------------------------
    def write(self, data: Any) -> Path:
        """Write ``data`` (bytes, str, or anything ``writer`` turns into bytes); return the path."""
        if isinstance(data, bytes | bytearray | memoryview):
            payload = bytes(data)
        elif isinstance(data, str):
            payload = data.encode("utf-8")
        elif self.writer is not None:
            payload = self.writer(data)
            if not isinstance(payload, bytes | bytearray):
                raise TypeError(
                    f"Artifact '{self.name}': writer returned {type(payload).__name__}, expected bytes"
                )
        else:
            raise TypeError(
                f"Artifact '{self.name}' got a {type(data).__name__}; pass bytes or str, or give "
                "the Artifact a writer=fn(obj) -> bytes"
            )
        if self._location is not None and self._location.ended:
            raise RuntimeError(
                f"Artifact '{self.name}' was not written: the run this replicate belongs to has "
                "ended (it was cancelled or failed while this replicate was still running in "
                "another thread), and its result is dropped; a later run may be writing to "
                f"{self._location.root / self._location.experiment} already."
            )
        path = atomic_write_bytes(self.path, payload)
        if self._written is not None and self.name not in self._written[self._earlier :]:
            if self.name in self._written[: self._earlier]:
                self._warn_overwritten(path)
            else:
                self._warn_case_clash(path)
            self._written.append(self.name)  # also when overwritten: this step wrote it
        return path

    def _warn_case_clash(self, path: Path) -> None:
        """Warn when another name written in this replicate differs from this one only by
        case: on a case-insensitive file system (macOS, Windows) both are one file."""
        folded = self.name.casefold()
        other = next((n for n in self._written or () if n != self.name and n.casefold() == folded), None)
        if other is None:
            return
        import warnings

        from crystallize.utils.callers import user_stacklevel

        warnings.warn(
            f"Artifacts '{self.name}' and '{other}' (written earlier in this replicate) differ only "
            "by case: on macOS and Windows, whose file systems ignore case, they are one file, and "
            f"this write ({path}) replaces the other there. Give them names that differ by more "
            "than case.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def _warn_overwritten(self, path: Path) -> None:
        """Warn that an earlier step of the replicate wrote this name too. The text is
        the same for every replicate (the files' place is given as a pattern), so Python
        shows it once per place rather than once per replicate."""
        import warnings

        from crystallize.utils.callers import user_stacklevel

        location = self._location
        where = (
            f"{location.root / location.experiment / f'v{location.version}'}/<condition>/<replicate>/{self.name}"
            if location is not None
            else str(path)
        )
        warnings.warn(
            f"Artifact '{self.name}' was already written by an earlier step of the replicate; "
            f"this step's write replaced it, and only the last write is kept ({where}). Give "
            f"each step's Artifact its own name (step(param=Artifact('other_name'))) unless "
            "replacing it is intended.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def read_bytes(self) -> bytes:
        """The bytes last written to this artifact's file.

        Read by a cacheable step, a file an earlier step of the replicate wrote is part
        of the step's cache key (its content digest): its cached output is reused only
        where the file holds the same bytes."""
        payload = self.path.read_bytes()
        self._note_read(payload)
        return payload

    def load(self) -> Any:
        """Read the file back through ``loader`` (raw bytes without one); noted for the
        cache key as :meth:`read_bytes` is."""
        payload = self.read_bytes()
        return self.loader(payload) if self.loader is not None else payload

    def _note_read(self, payload: bytes) -> None:
        """Note the read for the running step's cache key, unless this step wrote the
        file itself (then its content follows from what the key already covers)."""
        if self._ctx is None or (self._written is not None and self.name in self._written[self._earlier :]):
            return
        from crystallize.utils.read_tracking import note_artifact_read

        note_artifact_read(self._ctx, self.name, payload)

    def __repr__(self) -> str:
        where = f", path={str(self._path)!r}" if self._path is not None else ""
        return f"Artifact({self.name!r}{where})"

    def __reduce__(self):
        return (Artifact, (self.name, self.loader, self.writer))


def load_artifact_file(path: str | Path, loader: Callable[[bytes], Any] | None = None) -> Any:
    """Read an artifact file and decode it with ``loader`` (raw bytes without one)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return loader(data) if loader is not None else data


def is_artifact_annotation(annotation: Any) -> bool:
    """True for a parameter annotated ``Artifact`` (also as a string annotation)."""
    if annotation is Artifact:
        return True
    return isinstance(annotation, str) and annotation.split(".")[-1].strip("'\"") == "Artifact"


__all__ = ["Artifact", "ArtifactLocation", "is_artifact_annotation", "load_artifact_file"]
