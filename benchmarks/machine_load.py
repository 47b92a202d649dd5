"""How busy the machine was with *other* work while a workload ran (Linux).

The load average cannot tell the benchmark's own subprocesses from someone else's
``pytest``, so this compares all CPU time the kernel counted (``/proc/stat``, steal
included) with the CPU time of this process and its reaped children (the workloads,
and through them their process pools). The difference, per second of wall time, is the
number of CPUs that other work kept busy.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
#: /proc/stat "cpu" fields counted as busy: user nice system (idle iowait) irq softirq steal.
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


def machine_busy_seconds() -> float | None:
    """CPU seconds all processors spent busy since boot, or None off Linux."""
    try:
        fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = sum(int(fields[i]) for i in BUSY_FIELDS if i < len(fields))
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its terminated, reaped descendants."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class LoadMeter:
    """Measure other work's CPU use between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._start: tuple[float | None, float, float] = (None, 0.0, 0.0)

    def start(self) -> None:
        """Take the starting readings."""
        self._start = (machine_busy_seconds(), own_cpu_seconds(), time.perf_counter())

    def stop(self) -> float | None:
        """Average number of CPUs busy with other work since :meth:`start` (None off Linux)."""
        busy0, own0, wall0 = self._start
        busy1 = machine_busy_seconds()
        wall = time.perf_counter() - wall0
        if busy0 is None or busy1 is None or wall <= 0:
            return None
        other = (busy1 - busy0) - (own_cpu_seconds() - own0)
        return max(0.0, other / wall)
