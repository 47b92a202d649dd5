"""Plain-Python baselines: the same work as the workloads, without any framework.

Usage:

* ``python loop.py trivial REPLICATES`` — for each of two conditions (delta 0 and 1) and
  each replicate: compute the replicate's seed as the frameworks do
  (``(base + r * 31337) % 2**32``), seed ``random`` and NumPy's global RNG with it
  (both frameworks do this per replicate by default), then add delta, square, and keep
  the score in a per-condition list. Warm-up once, time the second pass.
* ``python loop.py floor REPLICATES`` — the *floor*: the trivial pass plus the rest of
  what the public contract asks of every condition × replicate, with no framework around
  it. ``random`` is seeded (NumPy is not: nothing here loads ``numpy.random``, and a
  framework need not seed a generator nobody has loaded); the datasource's output and
  each step's output get a 16-byte blake2b digest (the provenance's input/output hashes;
  the last step passes its int through, so its digest is reused); each record — metrics,
  seed, each step's name, hashes and duration, the replicate's duration — is encoded
  with orjson, and the pass ends by inserting all records into a WAL-mode SQLite table
  in one transaction. What a framework adds on top of this is the budget the
  per-replicate target leaves it.
* ``python loop.py process REPLICATES ITERATIONS WORKERS`` — the same ``burn`` calls,
  serially and through a ``ProcessPoolExecutor`` (the ideal speedup on this machine).

Prints one JSON line, keyed like the matching workload's.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from hashlib import blake2b

import numpy
import orjson
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


def _digest(value: int) -> str:
    """A 16-byte blake2b hex digest of an int's type-tagged text (as provenance hashes are)."""
    return blake2b(b"i:" + repr(value).encode(), digest_size=16).hexdigest()


def floor_pass(replicates: int, base_seed: int, store: sqlite3.Connection) -> dict[str, list[int]]:
    """One pass of the trivial pipeline with the contract's per-replicate work (see the
    module docstring); returns the scores, and leaves the records in ``store``."""
    scores: dict[str, list[int]] = {}
    rows = []
    clock = time.perf_counter
    for condition, delta in DELTAS.items():
        values = scores[condition] = []
        for rep in range(replicates):
            started = clock()
            seed = (base_seed + rep * SEED_STRIDE) % SEED_MODULUS
            random.seed(seed)
            data = rep
            source_hash = _digest(data)
            t0 = clock()
            data = data + delta
            added_hash = _digest(data)
            t1 = clock()
            data = data * data
            squared_hash = _digest(data)
            t2 = clock()
            values.append(data)
            record = {
                "condition": condition,
                "replicate": rep,
                "seed": seed,
                "metrics": {"score": [data]},
                "steps": [
                    ["add_delta", source_hash, added_hash, t1 - t0],
                    ["square", added_hash, squared_hash, t2 - t1],
                    ["score", squared_hash, squared_hash, clock() - t2],
                ],
                "duration": clock() - started,
            }
            rows.append((condition, rep, orjson.dumps(record)))
    with store:
        store.executemany("INSERT INTO records (condition, replicate, payload) VALUES (?, ?, ?)", rows)
    return scores


def run_floor(replicates: int) -> dict:
    """Warm up, time one floor pass (records stored in ``./floor.db``), return the measurements."""
    base_seed = int.from_bytes(os.urandom(4), "little")
    store = sqlite3.connect("floor.db")
    store.execute("PRAGMA journal_mode=WAL")
    store.execute("PRAGMA synchronous=NORMAL")
    store.execute("CREATE TABLE records (condition TEXT, replicate INTEGER, payload BLOB)")
    floor_pass(replicates, base_seed, store)
    start = time.perf_counter()
    scores = floor_pass(replicates, base_seed, store)
    seconds = time.perf_counter() - start
    stored = store.execute("SELECT count(*) FROM records").fetchone()[0]
    store.close()
    counts = {name: len(values) for name, values in scores.items()}
    return {
        "seconds": seconds, "replicates": replicates, "conditions": 2, "metrics": counts,
        "errors": 0, "stored_records": stored,
    }


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
    modes = {"trivial": run_trivial, "floor": run_floor, "process": run_process}
    result = modes[mode](*numbers)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
