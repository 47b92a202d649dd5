"""Files written in one step: readers see the old file or the new one, never half of
one; the temporary files of writes that were killed are found again by their name.

A write goes to a hidden temporary file beside its destination, named after the writing
process and its host (``.<name>.<random>.<pid>-<host>.tmp``), then is moved into place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger("crystallize.store")

#: Longest file or directory name most file systems accept, in bytes of UTF-8.
MAX_NAME_BYTES = 255


def as_path(value: str | os.PathLike[str]) -> Path:
    """``value`` as a :class:`~pathlib.Path`."""
    # pathlib is imported on first use: `import crystallize` validates artifact names
    # through the store's modules and should not pay for pathlib.
    from pathlib import Path

    return Path(value)


def utf8_size(text: str) -> int:
    """How many bytes ``text`` takes in UTF-8 (lone surrogates as they are)."""
    return len(text.encode("utf-8", "surrogatepass"))


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes | Sequence[bytes],
    *,
    fsync: bool = False,
    like: os.stat_result | None = None,
) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half.

    Creates the parent directories, writes a temporary file next to ``path`` (a hidden
    ``.<name>.<random>.<pid>-<host>.tmp`` naming the writing process and a tag of its
    host, its ``<name>`` cut so that it is no longer than :data:`MAX_NAME_BYTES` bytes
    when ``path``'s name is not) and moves it into place with :func:`os.replace`. A
    failed write (a full disk) removes the temporary file and leaves ``path`` as it was;
    one a killed process leaves is removed by :func:`remove_stale_temp_files`. The file
    gets the mode any new file gets, ``0o666`` less the umask (and default ACLs), as
    ``open()`` would give it, unless ``like`` is given.

    Args:
        path: Destination file.
        data: Bytes to write, or a sequence of chunks written one after the other
            (a header and a payload, without joining them first).
        fsync: Flush to disk before the rename (survives power loss, slower).
        like: The ``os.stat`` of a file whose permissions (and owner, where this process
            may set it) the new file takes: the one it replaces.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    target = as_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = os.path.join(target.parent, f".{_temp_stem(target.name)}.")
    tmp = ""
    try:
        fd, tmp = _create_temp(prefix)
        if like is not None:
            _take_permissions(fd, like)
        with os.fdopen(fd, "wb") as handle:
            for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                handle.write(chunk)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and str(exc.filename).startswith(prefix):
            # The caller asked for ``path``: an error names it, not the temporary file.
            exc.filename, exc.filename2 = str(target), None
        raise
    return target


def replace_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` as the whole content of the file at ``path`` (a report, an export).

    A regular file, or a path that does not exist yet, is replaced in one step
    (:func:`atomic_write_bytes`): a write that fails, say on a full disk, leaves the
    earlier file whole and nothing partial. A symbolic link keeps pointing where it did
    (its target is replaced); a pipe or a device (``/dev/stdout``) is written to, never
    replaced. A file replaced keeps its permissions (and owner, where allowed); other
    hard links to it keep the old content. Returns ``path``.
    """
    target = as_path(path)
    if target.exists() and not target.is_file():  # a pipe or device: no file to replace
        with open(target, "wb") as handle:
            handle.write(data)
    else:
        real = target.resolve() if target.is_symlink() else target
        try:
            before = os.stat(real)
        except OSError:
            before = None  # a new file
        atomic_write_bytes(real, data, like=before)
    return target


def _take_permissions(fd: int, like: os.stat_result) -> None:
    """Give the open file ``fd`` the permission bits of ``like`` and, where allowed (as
    root, or for a file of ours), its owner and group."""
    if hasattr(os, "fchown"):  # POSIX
        with contextlib.suppress(OSError):
            os.fchown(fd, like.st_uid, like.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(like.st_mode))


#: What a temporary file name adds to the name it stands for at most: ``.``, then
#: ``.<8 random hex>.<pid, up to 10 digits>-<host tag, 8 hex>.tmp``.
_TEMP_NAME_EXTRA = 34
#: Flags of a new temporary file: created here, never an existing one (no race).
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
#: A temporary file of :func:`atomic_write_bytes`: its writer's pid and host tag, or
#: neither in one written by an earlier Crystallize.
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}(?:\.([0-9]{1,10})-([0-9a-f]{8}))?\.tmp", re.DOTALL)
#: A temporary file whose writer cannot be asked (another host's, or named without its
#: writer) is removed once unchanged for this long: a write goes in one go, so no live
#: writer leaves its file untouched for a day.
STALE_TEMP_SECONDS = 86400.0
#: A live process with a temporary file's pid that started this long after the file was
#: last written is not its writer (the pid was reused); the margin covers the whole
#: seconds in which Linux gives its boot time.
_STARTED_AFTER_MARGIN = 5.0


def _create_temp(prefix: str) -> tuple[int, str]:
    """Create a new ``<prefix><8 hex>.<pid>-<host tag>.tmp``; return its descriptor and path.

    Unlike :func:`tempfile.mkstemp` (always ``0o600``) the file is created with mode
    ``0o666``, which the kernel reduces by the umask (and default ACLs) at that moment:
    the mode ``open()`` gives any file, without reading the process-wide umask, which
    cannot be read without setting it (a race with other threads). The pid is read at
    each call: a forked worker writes under its own.
    """
    writer = f"{os.getpid()}-{_this_host_tag()}"
    while True:
        tmp = f"{prefix}{os.urandom(4).hex()}.{writer}.tmp"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:  # a name another writer took: draw again
            continue


def host_tag(host: str) -> str:
    """The 8 hex characters that stand for the host name ``host`` in temporary file names."""
    import hashlib

    return hashlib.blake2b(host.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


_HOST_TAG: list[str] = []


def _this_host_tag() -> str:
    """:func:`host_tag` of this machine, computed once."""
    if not _HOST_TAG:
        from crystallize.store.liveness import hostname

        _HOST_TAG.append(host_tag(hostname()))
    return _HOST_TAG[0]


def temp_file_writer(name: str) -> tuple[int, str] | None:
    """``(pid, host tag)`` of the process that writes the temporary file called ``name``
    (see :func:`atomic_write_bytes`), or ``None`` when the name does not say (written by
    an earlier Crystallize, or not such a file)."""
    match = _TEMP_NAME.fullmatch(name)
    if match is None or match.group(1) is None:
        return None
    return int(match.group(1)), match.group(2)


def remove_stale_temps(folders: Iterable[str], *, max_age: float = STALE_TEMP_SECONDS) -> tuple[tuple[Path, ...], int]:
    """Remove the temporary files of :func:`atomic_write_bytes` that a killed process left
    in ``folders`` (and their subfolders); return those removed and their total size.

    A file written on this host goes as soon as its writer (the pid in its name) has
    ended. A file whose writer cannot be asked (written on another host sharing the
    directory, or by an earlier Crystallize, which did not name it) goes once unchanged
    for ``max_age`` seconds, and so does one whose pid a process that started after the
    file was last written has taken (the pid was reused; where process start times
    cannot be read, any process with that pid). A process that may be the writer keeps
    its file however old. Symbolic links are not followed.
    """
    from crystallize.store.liveness import pid_alive, process_start_time

    here = _this_host_tag()
    now = time.time()
    removed: list[Path] = []
    size = 0
    for parent, _, files in (step for top in folders for step in os.walk(top)):
        for name in files:
            if not name.endswith(".tmp") or _TEMP_NAME.fullmatch(name) is None:
                continue
            path = os.path.join(parent, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            writer = temp_file_writer(name)
            if writer is not None and writer[1] == here:
                pid = writer[0]
                if pid == os.getpid():
                    continue  # another thread of this process may be writing it
                if pid_alive(pid):
                    started = process_start_time(pid)
                    may_be_writer = started is not None and started - info.st_mtime < _STARTED_AFTER_MARGIN
                    if may_be_writer or now - info.st_mtime <= max_age:
                        continue
            elif now - info.st_mtime <= max_age:
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:  # moved into place, or removed by another sweep
                continue
            except OSError as exc:
                logger.warning("Could not remove the temporary file %s: %s", path, exc)
                continue
            removed.append(as_path(path))
            size += info.st_size
    return tuple(removed), size


def _temp_stem(name: str) -> str:
    """``name`` cut to fit a temporary file name of at most :data:`MAX_NAME_BYTES` bytes."""
    room = MAX_NAME_BYTES - _TEMP_NAME_EXTRA
    if utf8_size(name) <= room:
        return name
    return name.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")


__all__ = [
    "MAX_NAME_BYTES",
    "STALE_TEMP_SECONDS",
    "as_path",
    "atomic_write_bytes",
    "host_tag",
    "remove_stale_temps",
    "replace_file",
    "temp_file_writer",
    "utf8_size",
]
