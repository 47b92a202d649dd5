"""Workload 3: CPU-bound replicates, serial versus a two-worker process pool.

Usage: ``python process.py REPLICATES ITERATIONS WORKERS``. ``ITERATIONS`` is the
calibrated size of one replicate's work (about 50 ms). A small serial warm-up run
comes first (imports only: no pool is started, so pool start-up stays in the timed
parallel run, as a user would pay it). Then the serial run and the parallel run are
timed in this order. Prints one JSON line with both times and the speedup.
"""

from __future__ import annotations

import sys

from common import cpu_experiment, emit, error_count, metric_counts, timed_run


def main() -> None:
    """Warm up, time serial then parallel, print the measurements."""
    replicates, iterations, workers = (int(arg) for arg in sys.argv[1:4])
    timed_run(cpu_experiment(1, iterations, None))  # warm-up: imports and first-run set-up
    serial, serial_result = timed_run(cpu_experiment(replicates, iterations, None))
    parallel, parallel_result = timed_run(cpu_experiment(replicates, iterations, workers))
    same = serial_result.metrics.baseline.metrics == parallel_result.metrics.baseline.metrics
    emit(
        serial_seconds=serial,
        parallel_seconds=parallel,
        speedup=serial / parallel,
        replicates=replicates,
        workers=workers,
        metrics=metric_counts(parallel_result),
        errors=error_count(serial_result) + error_count(parallel_result),
        same_metrics=same,
    )


if __name__ == "__main__":
    main()
