"""Workload 5: a pipeline of three cacheable 100 ms steps, first run versus cached reruns.

Usage: ``python cached.py REPLICATES SECONDS PHASE`` in a working directory that is kept
between the two phases:

* ``first`` — a fresh cache: times the uncached run, then an immediate rerun of the same
  experiment in the same process (every step should be a cache hit);
* ``fresh`` — run again in a new process (the script run a second time): times the
  cached rerun including everything the first ``run()`` of a process does.

The seed is fixed (``SeedPlugin(seed=...)``): this project's cache key includes the
replicate's seed, so a rerun with a freshly drawn seed would, correctly, miss.
"""

from __future__ import annotations

import sys

from common import cached_experiment, emit, error_count, metric_counts, timed_run


def main() -> None:
    """Time the requested phase and print the measurements."""
    replicates, seconds, phase = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    experiment = cached_experiment(replicates, seconds)
    first, result = timed_run(experiment)
    if phase == "fresh":
        emit(fresh_rerun_seconds=first, metrics=metric_counts(result), errors=error_count(result))
        return
    rerun, rerun_result = timed_run(experiment)
    emit(
        first_seconds=first,
        rerun_seconds=rerun,
        metrics=metric_counts(result),
        errors=error_count(result) + error_count(rerun_result),
        same_metrics=result.metrics.baseline.metrics == rerun_result.metrics.baseline.metrics,
    )


if __name__ == "__main__":
    main()
