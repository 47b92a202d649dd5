"""Fewer cyclic garbage-collector passes while a run is going.

Every condition × replicate allocates a few dozen short-lived containers (context,
metrics, step records), and CPython's cyclic collector runs a young-generation pass
every 700 net allocations — and each pass gets slower as the run's records pile up. On
the trivial benchmark pipeline that was about 8% of the run at 300 replicates and a
quarter at 20,000. While at least one run is going, :func:`paced_gc` raises the
collector's first threshold to :data:`RUN_GC_THRESHOLD` allocations; reference cycles
made by user code are still collected, just in fewer, larger passes (a few megabytes
of garbage at most waits a little longer). The previous thresholds come back when the
last run ends, unless someone changed them meanwhile.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: First-generation threshold of the cyclic collector while a run is going.
RUN_GC_THRESHOLD = 20_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] | None = None


@contextlib.contextmanager
def paced_gc() -> Iterator[None]:
    """Raise the collector's first threshold for the duration of the block (re-entrant,
    thread-safe). A threshold already above :data:`RUN_GC_THRESHOLD`, or 0 (automatic
    collection off), is left alone."""
    global _active, _saved
    with _lock:
        if _active == 0:
            current = gc.get_threshold()
            if 0 < current[0] < RUN_GC_THRESHOLD:
                _saved = current
                gc.set_threshold(RUN_GC_THRESHOLD, *current[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                if gc.get_threshold()[0] == RUN_GC_THRESHOLD:  # nobody changed it since
                    gc.set_threshold(*_saved)
                _saved = None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block: decoding or building many small
    containers (a large run's records, its dict) makes it pass over them again and
    again, about as long as the work itself, and no cycles are made there."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["collector_paused", "RUN_GC_THRESHOLD", "paced_gc"]
