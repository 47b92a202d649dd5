"""Deterministic pure-Python CPU work, free of any Crystallize import.

Shared by the workload scripts (both implementations) and the plain-loop baselines,
so every side burns exactly the same instructions.
"""

from __future__ import annotations

import time


def burn(iterations: int) -> int:
    """Spin a deterministic integer loop ``iterations`` times and return its checksum."""
    acc = 0
    for i in range(iterations):
        acc = (acc * 31 + i) % 1_000_003
    return acc


def calibrate(seconds: float, probe: int = 200_000, repeats: int = 5) -> int:
    """Return the iteration count for which :func:`burn` takes about ``seconds``.

    The fastest of ``repeats`` probes sets the rate (the least disturbed measurement).
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        burn(probe)
        best = min(best, time.perf_counter() - start)
    return max(1, round(probe * seconds / best))
