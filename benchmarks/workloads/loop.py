"""Plain-Python baselines: the same work as the workloads, without any framework.

Usage:

* ``python loop.py trivial REPLICATES`` — for each of two conditions (delta 0 and 1) and
  each replicate: compute the replicate's seed as the frameworks do
  (``(base + r * 31337) % 2**32``), seed ``random`` and NumPy's global RNG with it
  (both frameworks do this per replicate by default), then add delta, square, and keep
  the score in a per-condition list. Warm-up once, time the second pass.
* ``python loop.py process REPLICATES ITERATIONS WORKERS`` — the same ``burn`` calls,
  serially and through a ``ProcessPoolExecutor`` (the ideal speedup on this machine).

Prints one JSON line, keyed like the matching workload's.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy
from cpu import burn

SEED_STRIDE = 31337
SEED_MODULUS = 2**32
DELTAS = {"baseline": 0, "plus_one": 1}


def trivial_pass(replicates: int, base_seed: int) -> dict[str, list[int]]:
    """One pass of the trivial pipeline over both conditions; returns the scores."""
    scores: dict[str, list[int]] = {}
    for condition, delta in DELTAS.items():
        values = scores[condition] = []
        for rep in range(replicates):
            seed = (base_seed + rep * SEED_STRIDE) % SEED_MODULUS
            random.seed(seed)
            numpy.random.seed(seed)
            data = rep + delta
            data = data * data
            values.append(data)
    return scores


def run_trivial(replicates: int) -> dict:
    """Warm up, time one pass, return the measurements."""
    base_seed = int.from_bytes(os.urandom(4), "little")
    trivial_pass(replicates, base_seed)
    start = time.perf_counter()
    scores = trivial_pass(replicates, base_seed)
    seconds = time.perf_counter() - start
    counts = {name: len(values) for name, values in scores.items()}
    return {"seconds": seconds, "replicates": replicates, "conditions": 2, "metrics": counts, "errors": 0}


def run_process(replicates: int, iterations: int, workers: int) -> dict:
    """Time the CPU work serially, then through a process pool (start-up included)."""
    tasks = [iterations] * (replicates * len(DELTAS))
    burn(1)  # warm-up
    start = time.perf_counter()
    serial_sums = [burn(n) for n in tasks]
    serial = time.perf_counter() - start
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parallel_sums = list(pool.map(burn, tasks))
    parallel = time.perf_counter() - start
    return {
        "serial_seconds": serial,
        "parallel_seconds": parallel,
        "speedup": serial / parallel,
        "replicates": replicates,
        "workers": workers,
        "errors": 0,
        "same_metrics": serial_sums == parallel_sums,
    }


def main() -> None:
    """Dispatch on the first argument and print one JSON line."""
    mode, *args = sys.argv[1:]
    numbers = [int(a) for a in args]
    result = run_trivial(*numbers) if mode == "trivial" else run_process(*numbers)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
