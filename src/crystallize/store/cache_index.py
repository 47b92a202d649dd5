"""The newest lines of a step's cache index, read once and then only as the file grows.

Explaining a cache miss compares the missed key with a step's newest index entries
(:data:`~crystallize.store.cache.CLOSEST_SCAN` of them). Reading the whole index for
each miss cost a run time proportional to every entry the step ever stored, per miss;
:class:`IndexTail` reads only the end of the file the first time (seeking back until it
holds enough lines) and then only the bytes appended since, by this process or any
other.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any

#: Bytes read from the end of an index at first, doubled until enough lines are in.
_FIRST_READ = 64 * 1024


class IndexTail:
    """The newest ``keep`` well-formed entries of one index file, each ``(key, parts)``
    with ``parts`` as a frozenset of ``(name, digest)`` pairs (compared by set operations).

    :meth:`entries` refreshes them: from the bytes appended since the last call when the
    file only grew, from its end again when it is a new file or was rewritten (shorter).
    A torn last line (a writer killed mid-line) is read once it ends, and skipped if it
    never parses. Thread safety is the caller's: one instance per thread or a lock.
    """

    def __init__(self, path: Path, step: str, keep: int) -> None:
        self.path = path
        self.step = step
        self.keep = keep
        self._identity: tuple[int, int] | None = None  # (device, inode) read so far
        self._offset = 0  # bytes parsed so far, always just after a newline
        self._entries: deque[tuple[str, frozenset[tuple[str, Any]]]] = deque(maxlen=keep)

    def entries(self) -> list[tuple[str, frozenset[tuple[str, Any]]]] | None:
        """The newest entries, oldest first; ``None`` when the file cannot be read."""
        try:
            with open(self.path, "rb") as file:
                stat = os.fstat(file.fileno())
                identity = (stat.st_dev, stat.st_ino)
                if identity != self._identity or stat.st_size < self._offset:
                    self._entries.clear()
                    self._identity = identity
                    self._offset = _start_of_last_lines(file, stat.st_size, self.keep)
                file.seek(self._offset)
                appended = file.read(stat.st_size - self._offset)
        except OSError:
            self._identity = None
            return None
        end = appended.rfind(b"\n") + 1  # complete lines only
        self._offset += end
        for line in appended[:end].splitlines():
            entry = _parsed(line, self.step)
            if entry is not None:
                self._entries.append(entry)
        return list(self._entries)


def _start_of_last_lines(file: Any, size: int, count: int) -> int:
    """The offset where the last ``count`` lines of ``file`` (``size`` bytes) start: the
    start of the file when it has fewer."""
    chunk = _FIRST_READ
    while True:
        start = max(0, size - chunk)
        file.seek(start)
        data = file.read(size - start)
        if start == 0:
            return 0
        if data.count(b"\n") >= count + 1:  # the newline before the first line kept, too
            position = len(data)
            for _ in range(count + 1):  # the last line ends with a newline: one more
                position = data.rfind(b"\n", 0, position)
            return start + position + 1
        chunk *= 2


def _parsed(line: bytes, step: str) -> tuple[str, frozenset[tuple[str, Any]]] | None:
    """``(key, parts)`` of one index line of ``step``; ``None`` for a torn or foreign one."""
    try:
        entry = json.loads(line)
        key, parts = entry["key"], entry["parts"]
        if entry["step"] != step or not isinstance(key, str) or not isinstance(parts, dict):
            return None
        return key, frozenset(parts.items())
    except (ValueError, KeyError, TypeError):  # TypeError: a part that is not a digest
        return None


__all__ = ["IndexTail"]
