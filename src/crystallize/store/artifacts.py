"""Where artifact files live, and how they are written safely.

Layout::

    <root>/<experiment>/v<version>/<condition>/<replicate>/<name>

``<name>`` may contain ``/`` to make subdirectories (``plots/loss.png``) but must stay
inside its replicate directory. Versions are directories ``v0``, ``v1``, …: a versioned
experiment gets a new one per run (:func:`claim_version`); an unversioned one reuses
``v0`` and empties it when a run starts (:func:`reset_version_dir`), unless another run
of it is still using ``v0``: then the new run gets a version of its own, marked as such
(:func:`claim_side_version`) so that :func:`latest_version` keeps pointing at ``v0``.
Files are written in one step by :mod:`crystallize.store.atomic_files` (re-exported here).
"""

from __future__ import annotations

import contextlib
import errno
import operator
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from crystallize.store.atomic_files import (
    MAX_NAME_BYTES,
    STALE_TEMP_SECONDS,
    as_path,
    atomic_write_bytes,
    host_tag,
    remove_stale_temps,
    replace_file,
    temp_file_writer,
    utf8_size,
)
from crystallize.utils.text import control_character

if TYPE_CHECKING:
    from pathlib import Path



_VERSION_DIR = re.compile(r"v(0|[1-9][0-9]*)")
_DRIVE = re.compile(r"[A-Za-z]:")
#: Characters Windows refuses in file names, and what a suggested name puts instead.
_WINDOWS_CHARACTERS = {":": "-", "|": "-", "<": "-", ">": "-", "?": "", "*": "", '"': ""}
#: Names Windows reserves for devices, alone or before an extension (``nul.txt``).
_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{port}{n}" for port in ("com", "lpt") for n in "123456789\u00b9\u00b2\u00b3"]
)


def _is_device_name(part: str) -> bool:
    """Whether Windows reads ``part`` as a device (``con``, ``NUL``, ``aux.json``...)."""
    return part.partition(".")[0].lower() in _WINDOWS_DEVICES


#: File in a ``v<N>`` directory of an unversioned experiment whose run could not use
#: ``v0`` (see :func:`claim_side_version`).
SIDE_VERSION_MARKER = ".side-version"
#: What the data directory itself holds besides experiment directories (lower case).
RESERVED_IN_ROOT = frozenset(
    {".cache", "crystallize.db", "crystallize.db-wal", "crystallize.db-shm", "crystallize.db-journal"}
)


def validate_artifact_name(name: str, label: str = "Artifact name") -> str:
    """Check that ``name`` is a safe relative artifact path and return it.

    Allowed: one or more ``/``-separated components, e.g. ``"model.pkl"`` or
    ``"plots/loss.png"``. ``label`` starts the error messages (what the name names).

    A component Windows cannot use (see :func:`windows_problem`) is refused on Windows;
    elsewhere it works, and a ``UserWarning`` (shown once per name and place, as Python
    shows warnings) says that the folder would not open on Windows, with a portable
    replacement.

    Raises:
        ValueError: If the name is empty, absolute, contains a backslash or a control
            character (NUL, newline, ESC...), starts with a drive letter (``C:``), has an empty component (``a//b``, trailing
            ``/``), a ``.``/``..`` component, on Windows a component Windows cannot use
            (``<>:"|?*``, a trailing dot or space, a device name such as ``con`` or
            ``nul.txt``; the message suggests a replacement), or a component longer than
            :data:`MAX_NAME_BYTES` bytes of UTF-8. The message says which.
    """
    if not isinstance(name, str):
        raise ValueError(f"{label} must be a string, got {type(name).__name__}.")
    if not name.strip():
        raise ValueError(f"{label} is empty.")
    if (control := control_character(name)) is not None:
        raise ValueError(f"{label} {name!r} contains the control character {control}.")
    if "\\" in name:
        raise ValueError(
            f"{label} {name!r} contains a backslash; use '/' to separate directories."
        )
    if _DRIVE.match(name):  # a path on another drive, on Windows: refused everywhere
        raise ValueError(
            f"{label} {name!r} starts with a drive letter ({name[:2]!r}), which Windows reads as "
            f"another drive; use a relative name such as {portable_name(name)!r}."
        )
    if name.startswith("/") or os.path.isabs(name):
        raise ValueError(f"{label} {name!r} is an absolute path; use a relative path.")
    for part in name.split("/"):
        if part == "":
            raise ValueError(
                f"{label} {name!r} has an empty path component ('//' or a trailing '/')."
            )
        if part in (".", ".."):
            raise ValueError(
                f"{label} {name!r} contains a '{part}' component; artifacts must stay "
                "inside their replicate directory."
            )
        if (problem := windows_problem(part)) is not None:
            _not_portable(name, part, problem, label)
        size = utf8_size(part)
        if size > MAX_NAME_BYTES:
            which = "it is" if part == name else f"its component {_shortened(part)} is"
            raise ValueError(
                f"{label} {_shortened(name)} is too long: {which} {size} bytes long in UTF-8, "
                f"and file systems take at most {MAX_NAME_BYTES} for a file or directory name."
            )
    return name


def _not_portable(name: str, part: str, problem: str, label: str) -> None:
    """Refuse ``name`` on Windows, where its component ``part`` cannot be a file name;
    elsewhere warn that its folder would not open on Windows.

    The warning's text is the same for every replicate of a run, so Python's warning
    filters show it once per place (the ``default`` action), as each run of the
    interactive interface does again; no record of names already warned about is kept for
    the whole process, which silenced every later run of a long-lived process."""
    which = "" if part == name else f": its component {part!r}"
    if sys.platform == "win32":
        raise ValueError(f"{label} {name!r}{which} {problem}; use e.g. {portable_name(name)!r}.")
    import warnings

    from crystallize.utils.callers import user_stacklevel

    warnings.warn(
        f"{label} {name!r}{which} {problem}: it works here, but artifact folders copied to "
        f"Windows could not be opened there; use e.g. {portable_name(name)!r} to keep them portable.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def windows_problem(part: str) -> str | None:
    """Why Windows cannot use ``part`` as a file or directory name, or ``None``.

    It refuses ``< > : " | ? *``, drops a trailing dot or space (``exp.`` would be ``exp``)
    and reserves device names (``con``, ``prn``, ``aux``, ``nul``, ``com1``-``com9``,
    ``lpt1``-``lpt9``, in any case, also before an extension: ``aux.json``).
    """
    found = [char for char in _WINDOWS_CHARACTERS if char in part]
    if found:
        drive = " (there it marks a drive letter, as in 'C:')" if ":" in found else ""
        return f"contains {', '.join(map(repr, sorted(found, key=part.index)))}, which Windows does not allow in names{drive}"
    if part.endswith((".", " ")):
        which = "a dot" if part.endswith(".") else "a space"
        return f"ends with {which}, which Windows drops (so it would name the same file as {part.rstrip('. ')!r})"
    if _is_device_name(part):
        return f"is a device name on Windows ({part.split('.')[0].upper()}), not a file"
    return None


def portable_name(name: str) -> str:
    """``name`` changed so that every component passes :func:`windows_problem`: ``:``,
    ``|``, ``<``, ``>`` become ``-``, ``?``, ``*``, ``"`` go, trailing dots and spaces go,
    and ``_`` follows a device name (``nul.txt`` -> ``nul_.txt``)."""
    return "/".join(_portable_part(part) for part in name.split("/"))


def _portable_part(part: str) -> str:
    part = "".join(_WINDOWS_CHARACTERS.get(char, char) for char in part).rstrip(". ") or "_"
    if _is_device_name(part):
        stem, dot, rest = part.partition(".")
        part = f"{stem}_{dot}{rest}"
    return part


def _shortened(text: str, keep: int = 40) -> str:
    """``repr(text)``, cut to its first ``keep`` characters and ``...`` when longer."""
    return f"{text[:keep]!r}..." if len(text) > keep else repr(text)


def check_path_component(value: str, what: str) -> str:
    """Validate a single path component (experiment or condition name).

    Besides :func:`validate_artifact_name`'s rules (which include at most
    :data:`MAX_NAME_BYTES` bytes of UTF-8): no ``/``, and not a name the store uses itself at that
    level (an experiment cannot be called ``crystallize.db`` or ``.cache``, which live in
    the data directory; a condition cannot be called :data:`SIDE_VERSION_MARKER`).

    Raises:
        ValueError: naming the rule ``value`` breaks.
    """
    try:
        validate_artifact_name(value, label="The name")
    except ValueError as exc:
        raise ValueError(f"Invalid {what} name for an artifact path: {exc}") from None
    if "/" in value:
        raise ValueError(f"Invalid {what} name {value!r} for an artifact path: it contains '/'.")
    reserved = RESERVED_IN_ROOT if what == "experiment" else {SIDE_VERSION_MARKER}
    if value.lower() in reserved:
        raise ValueError(
            f"Invalid {what} name {value!r} for an artifact path: the store keeps a file or "
            f"directory of that name beside it (taken: {', '.join(sorted(reserved))})."
        )
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
    return as_path(root) / check_path_component(experiment, "experiment") / f"v{_index(version, 'version')}"


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


def remove_stale_temp_files(
    root: str | os.PathLike[str], *, max_age: float = STALE_TEMP_SECONDS
) -> tuple[tuple[Path, ...], int]:
    """Remove the temporary files of :func:`atomic_write_bytes` that a killed process left
    in the data directory ``root`` (in its step cache ``.cache`` and its experiments'
    ``v<N>`` artifact folders); return those removed and their total size.

    See :func:`~crystallize.store.atomic_files.remove_stale_temps` for which go: never
    one a live process may be writing.
    """
    return remove_stale_temps(_written_folders(root), max_age=max_age)


def _written_folders(root: str | os.PathLike[str]) -> list[str]:
    """The folders of the data directory ``root`` that Crystallize writes files into: the
    step cache and every ``<experiment>/v<N>`` (nothing else a user keeps there)."""
    return [os.path.join(root, ".cache")] + [
        version
        for experiment in _subfolders(root, lambda name: name.lower() not in RESERVED_IN_ROOT)
        for version in _subfolders(experiment, _VERSION_DIR.fullmatch)
    ]


def _subfolders(folder: str | os.PathLike[str], wanted: Callable[[str], object]) -> list[str]:
    """Paths of the directories in ``folder`` whose name is ``wanted`` (none when it
    cannot be listed)."""
    try:
        with os.scandir(folder) as entries:
            return [entry.path for entry in entries if wanted(entry.name) and entry.is_dir()]
    except OSError:
        return []


def latest_version(root: str | os.PathLike[str], experiment: str) -> int | None:
    """Return the highest ``N`` with a ``v<N>`` directory for ``experiment``, or None.

    Side versions (:func:`claim_side_version`) are left out. The highest number is the
    newest run's only while the experiment stays versioned: an unversioned run after
    versioned ones writes ``v0``. Which version a run wrote is its ``artifact_version``
    in the store, and readers of the newest run's files go by that when they can (see
    :class:`~crystallize.config.UpstreamOutput`).
    """
    base = as_path(root) / check_path_component(experiment, "experiment")
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return None
    versions = sorted(
        (
            int(match.group(1))
            for entry in entries
            if (match := _VERSION_DIR.fullmatch(entry.name)) and entry.is_dir()
        ),
        reverse=True,
    )
    return next((v for v in versions if not is_side_version(root, experiment, v)), None)


def is_side_version(root: str | os.PathLike[str], experiment: str, version: int) -> bool:
    """Whether ``v<version>`` is a side version (:func:`claim_side_version`)."""
    return (version_dir(root, experiment, version) / SIDE_VERSION_MARKER).exists()


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
    check_name_case(root, experiment)
    target = version_dir(root, experiment, version)
    if target.exists() and not _is_empty_dir(target):
        set_aside(target)
    remove_set_aside(target.parent, target.name)
    target.mkdir(parents=True, exist_ok=True)
    return target


def check_name_case(root: str | os.PathLike[str], experiment: str) -> None:
    """Refuse, or warn about, another experiment folder in ``root`` whose name differs
    from ``experiment`` only by case (``Exp`` and ``exp``).

    On a case-insensitive file system (macOS, Windows) both names are one folder: a run
    would write into (an unversioned one: empty) the other experiment's artifacts, so
    that is a :class:`~crystallize.exceptions.StoreError`. Where they are two folders,
    a ``UserWarning`` says they would become one when the data directory is copied there.
    Called when a run claims its version directory; costs one listing of ``root``.
    """
    base = as_path(root)
    folded = experiment.casefold()
    try:
        with os.scandir(base) as entries:
            others = [e.name for e in entries if e.name != experiment and e.name.casefold() == folded]
    except (FileNotFoundError, NotADirectoryError):
        return
    for other in others:
        if _same_file(base / experiment, base / other):
            from crystallize.exceptions import StoreError

            raise StoreError(
                f"Experiment {experiment!r}: {str(base / experiment)!r} is the folder of experiment "
                f"{other!r}, as this file system ignores case (names that differ only by case share "
                f"one folder), so this run would overwrite its artifacts; rename one of them."
            )
        import warnings

        from crystallize.utils.callers import user_stacklevel

        warnings.warn(
            f"The data directory {str(base)!r} holds experiments {experiment!r} and {other!r}, whose "
            "names differ only by case: on macOS and Windows, whose file systems ignore case, they "
            "would share one folder and overwrite each other's artifacts. Rename one of them.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _same_file(first: Path, second: Path) -> bool:
    """Whether both paths exist and are one file or directory."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def set_aside(folder: Path) -> Path:
    """Rename ``folder`` to a hidden ``.<name>.trash-<random>`` beside it (one atomic step,
    so nothing reads it as ``<name>`` any more) and return the new path, to delete at
    leisure: an interruption leaves a trash folder, never a half-deleted ``v<N>``."""
    import uuid

    trash = folder.parent / f".{folder.name}.trash-{uuid.uuid4().hex[:8]}"
    os.rename(folder, trash)
    return trash


def remove_set_aside(parent: Path, name: str = "") -> None:
    """Delete what :func:`set_aside` left in ``parent`` (of folder ``name``, or of any),
    e.g. after an interrupted reset or deletion; what cannot be removed stays."""
    prefix = f".{name}.trash-" if name else "."
    with contextlib.suppress(FileNotFoundError):
        for entry in parent.iterdir():
            if entry.name.startswith(prefix) and ".trash-" in entry.name:
                with contextlib.suppress(OSError):
                    remove_tree(entry)


def remove_tree(path: Path) -> None:
    """Delete the directory ``path`` with everything in it; a symbolic link is removed
    alone, never what it points to.

    Raises:
        OSError: If something could not be removed (what could be is gone).
    """
    import shutil

    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def clear_unfinished_replicates(
    root: str | os.PathLike[str], experiment: str, version: int, done: dict[int, set[str]], conditions: list[str]
) -> None:
    """Remove the replicate folders of ``v<version>`` that a resumed run runs again: those
    of each condition whose replicate is not in ``done`` (``{replicate: {condition}}``).
    What an earlier attempt left there (it failed, or its driver died before its record
    was stored) is no result, and the new attempt may not write every one of those
    files: none of them must be read as its output."""
    where = version_dir(root, experiment, version)
    for condition in conditions:
        for path in _subfolders(where / condition, str.isdigit):
            name = os.path.basename(path)
            if condition not in done.get(int(name), ()):
                remove_tree(set_aside(where / condition / name))


def claim_version(root: str | os.PathLike[str], experiment: str, versioned: bool) -> int:
    """Pick the version for a new run and create its directory; return the version.

    Versioned: creates the next free ``v<N>`` atomically, so concurrent runs never
    share a version. Unversioned: empties ``v0`` with :func:`reset_version_dir`.
    """
    if not versioned:
        reset_version_dir(root, experiment, 0)
        return 0
    return _claim_from(root, experiment, next_version(root, experiment, True))


def _claim_from(root: str | os.PathLike[str], experiment: str, version: int) -> int:
    """Create the first free ``v<N>`` with ``N >= version`` (atomically) and return ``N``."""
    check_name_case(root, experiment)
    version_dir(root, experiment, version).parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            version_dir(root, experiment, version).mkdir()
        except FileExistsError:
            version += 1  # another process took it (or a stray file has the name)
            continue
        return version


def claim_side_version(root: str | os.PathLike[str], experiment: str) -> int:
    """Claim a new ``v<N>`` for a run of an unversioned experiment that cannot use ``v0``
    (another run of it is using ``v0``); return ``N``, never 0.

    The directory holds a :data:`SIDE_VERSION_MARKER` file saying so, and
    :func:`latest_version` passes over it, so readers of the experiment's latest
    artifacts (upstream outputs) keep reading ``v0``. ``v0`` itself is left to the run
    using it, even when that run has not created it yet.
    """
    version = _claim_from(root, experiment, max(1, next_version(root, experiment, True)))
    marker = version_dir(root, experiment, version) / SIDE_VERSION_MARKER
    marker.write_text(
        f"v{version} holds the artifacts of one run of the unversioned experiment "
        f"{experiment!r}, which started while another run of it was using v0. Its run in "
        f"the store has artifact_version {version}.\n",
        encoding="utf-8",
    )
    return version


def directory_problem(path: str | os.PathLike[str], exc: OSError) -> str:
    """Why directory ``path`` could not be created (``exc``), in words: a file in the way
    names that file, a symbolic link that leads nowhere names the link and its target."""
    path = as_path(path)
    for part in (path, *path.parents):
        broken = _broken_link(part)
        if broken is not None:
            return broken
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    return f"{str(blocker)!r} is a file, not a directory" if blocker is not None else str(exc)


def _broken_link(path: Path) -> str | None:
    """``path`` in words when it is a symbolic link that leads nowhere (a missing target,
    or a loop), else ``None``. ``exists()`` follows links, so such a link reads as
    nothing there, while ``mkdir`` finds it in the way ("File exists")."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{str(path)!r} is a symbolic link loop"
        with contextlib.suppress(OSError):
            return (
                f"{str(path)!r} is a symbolic link to {os.readlink(path)!r}, which does not exist "
                "(create that directory, or remove the link)"
            )
        return f"{str(path)!r} is a symbolic link that leads nowhere"
    return None


__all__ = [
    "MAX_NAME_BYTES",
    "SIDE_VERSION_MARKER",
    "artifact_path",
    "atomic_write_bytes",
    "check_path_component",
    "claim_side_version",
    "check_name_case",
    "claim_version",
    "directory_problem",
    "host_tag",
    "is_side_version",
    "latest_version",
    "next_version",
    "portable_name",
    "remove_stale_temp_files",
    "replace_file",
    "reset_version_dir",
    "temp_file_writer",
    "validate_artifact_name",
    "version_dir",
    "windows_problem",
]
