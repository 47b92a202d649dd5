"""Facts about the run store's files on disk, read without opening them."""

from __future__ import annotations

import os


def file_identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(device, inode)`` of the file at ``path``, or ``None`` when there is none: the
    same path with another identity is another file (deleted and made again, replaced)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def file_size(path: str | os.PathLike[str]) -> int:
    """Size in bytes of the file at ``path``; 0 when there is none."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


__all__ = ["file_identity", "file_size"]
