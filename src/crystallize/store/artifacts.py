"""Where artifact files live, and how they are written safely.

Layout::

    <root>/<experiment>/v<version>/<condition>/<replicate>/<name>

``<name>`` may contain ``/`` to make subdirectories (``plots/loss.png``) but must stay
inside its replicate directory. Versions are directories ``v0``, ``v1``, …: a versioned
experiment gets a new one per run (:func:`claim_version`); an unversioned one reuses
``v0`` and empties it when a run starts (:func:`reset_version_dir`).
"""

from __future__ import annotations

import contextlib
import operator
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

def _as_path(value: str | os.PathLike[str]) -> Path:
    # pathlib is imported on first use: `import crystallize` validates artifact names
    # through this module and should not pay for pathlib.
    from pathlib import Path

    return Path(value)


_VERSION_DIR = re.compile(r"v(0|[1-9][0-9]*)")
_DRIVE = re.compile(r"[A-Za-z]:")


def validate_artifact_name(name: str) -> str:
    """Check that ``name`` is a safe relative artifact path and return it.

    Allowed: one or more ``/``-separated components, e.g. ``"model.pkl"`` or
    ``"plots/loss.png"``.

    Raises:
        ValueError: If the name is empty, absolute, starts with a drive letter, contains
            a backslash, a NUL byte, an empty component (``a//b``, trailing ``/``), or a
            ``.``/``..`` component. The message says which.
    """
    if not isinstance(name, str):
        raise ValueError(f"Artifact name must be a string, got {type(name).__name__}.")
    if not name.strip():
        raise ValueError("Artifact name is empty.")
    if "\x00" in name:
        raise ValueError(f"Artifact name {name!r} contains a NUL byte.")
    if "\\" in name:
        raise ValueError(
            f"Artifact name {name!r} contains a backslash; use '/' to separate directories."
        )
    if _DRIVE.match(name):
        raise ValueError(f"Artifact name {name!r} starts with a drive letter; use a relative path.")
    if name.startswith("/") or os.path.isabs(name):
        raise ValueError(f"Artifact name {name!r} is an absolute path; use a relative path.")
    for part in name.split("/"):
        if part == "":
            raise ValueError(
                f"Artifact name {name!r} has an empty path component ('//' or a trailing '/')."
            )
        if part in (".", ".."):
            raise ValueError(
                f"Artifact name {name!r} contains a '{part}' component; artifacts must stay "
                "inside their replicate directory."
            )
    return name


def check_path_component(value: str, what: str) -> str:
    """Validate a single path component (experiment or condition name)."""
    try:
        validate_artifact_name(value)
    except ValueError as exc:
        raise ValueError(f"Invalid {what} name for an artifact path: {exc}") from None
    if "/" in value:
        raise ValueError(f"Invalid {what} name {value!r} for an artifact path: it contains '/'.")
    return value


def _index(value: int, what: str) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an int, got {type(value).__name__}.") from None
    if number < 0:
        raise ValueError(f"{what} must be >= 0, got {number}.")
    return number


def version_dir(root: str | os.PathLike[str], experiment: str, version: int) -> Path:
    """Return ``<root>/<experiment>/v<version>``.

    Raises:
        ValueError: If the experiment name is not a safe path component or the version
            is negative.
    """
    return _as_path(root) / check_path_component(experiment, "experiment") / f"v{_index(version, 'version')}"


def artifact_path(
    root_dir: str | os.PathLike[str],
    experiment: str,
    version: int,
    condition: str,
    replicate: int,
    name: str,
) -> Path:
    """Return ``<root>/<experiment>/v<version>/<condition>/<replicate>/<name>``.

    Raises:
        ValueError: If ``name`` fails :func:`validate_artifact_name`, the experiment or
            condition is not a single safe path component, or version/replicate is not a
            non-negative int.
    """
    return (
        version_dir(root_dir, experiment, version)
        / check_path_component(condition, "condition")
        / str(_index(replicate, "replicate"))
        / validate_artifact_name(name)
    )


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    Creates the parent directories, writes a temporary file next to ``path`` and moves
    it into place with :func:`os.replace`.

    Args:
        path: Destination file.
        data: Bytes to write.
        fsync: Flush to disk before the rename (survives power loss, slower).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    target = _as_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def latest_version(root: str | os.PathLike[str], experiment: str) -> int | None:
    """Return the highest ``N`` with a ``v<N>`` directory for ``experiment``, or None."""
    base = _as_path(root) / check_path_component(experiment, "experiment")
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return None
    versions = [
        int(match.group(1))
        for entry in entries
        if (match := _VERSION_DIR.fullmatch(entry.name)) and entry.is_dir()
    ]
    return max(versions, default=None)


def next_version(root: str | os.PathLike[str], experiment: str, versioned: bool) -> int:
    """Return the version a new run of ``experiment`` should use.

    Args:
        root: Artifact root directory.
        experiment: Experiment name.
        versioned: True: one more than the highest existing version (0 if none).
            False: always 0 (the run replaces ``v0``; see :func:`reset_version_dir`).

    This only computes the number; two processes may get the same one. Use
    :func:`claim_version` to also reserve the directory.
    """
    if not versioned:
        return 0
    latest = latest_version(root, experiment)
    return 0 if latest is None else latest + 1


def _is_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is None
    except NotADirectoryError:
        return False


def reset_version_dir(root: str | os.PathLike[str], experiment: str, version: int) -> Path:
    """Empty (or create) ``<root>/<experiment>/v<version>`` and return it.

    The old directory is first renamed aside and then deleted, so a crash midway never
    leaves old and new artifacts mixed. Leftovers of earlier interrupted resets are
    removed too.
    """
    import shutil
    import uuid

    target = version_dir(root, experiment, version)
    parent = target.parent
    if target.exists() and not _is_empty_dir(target):
        trash = parent / f".{target.name}.trash-{uuid.uuid4().hex[:8]}"
        os.rename(target, trash)
    with contextlib.suppress(FileNotFoundError):
        for entry in parent.iterdir():
            if entry.name.startswith(f".{target.name}.trash-"):
                shutil.rmtree(entry, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    return target


def claim_version(root: str | os.PathLike[str], experiment: str, versioned: bool) -> int:
    """Pick the version for a new run and create its directory; return the version.

    Versioned: creates the next free ``v<N>`` atomically, so concurrent runs never
    share a version. Unversioned: empties ``v0`` with :func:`reset_version_dir`.
    """
    if not versioned:
        reset_version_dir(root, experiment, 0)
        return 0
    version = next_version(root, experiment, True)
    version_dir(root, experiment, version).parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            version_dir(root, experiment, version).mkdir()
        except FileExistsError:
            version += 1  # another process took it (or a stray file has the name)
            continue
        return version


__all__ = [
    "artifact_path",
    "atomic_write_bytes",
    "check_path_component",
    "claim_version",
    "latest_version",
    "next_version",
    "reset_version_dir",
    "validate_artifact_name",
    "version_dir",
]
