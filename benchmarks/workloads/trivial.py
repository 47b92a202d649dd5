"""Workload 1: the trivial three-step pipeline, serial, quiet logging, default plugins.

Usage: ``python trivial.py REPLICATES``, with a temporary directory as the working
directory (this project's run store goes to ``./data``). One warm-up run of the same
size comes first (lazy imports, first-run set-up); only the second ``run()`` is timed.
Prints one JSON line: ``seconds``, ``replicates``, ``conditions``, metric counts, errors.
"""

from __future__ import annotations

import sys

from common import emit, error_count, metric_counts, timed_run, trivial_experiment


def main() -> None:
    """Warm up once, time one run, print the measurements."""
    replicates = int(sys.argv[1])
    experiment = trivial_experiment(replicates)
    timed_run(experiment)  # warm-up
    seconds, result = timed_run(experiment)
    counts = metric_counts(result)
    emit(
        seconds=seconds,
        replicates=replicates,
        conditions=len(counts),
        metrics=counts,
        errors=error_count(result),
    )


if __name__ == "__main__":
    main()
