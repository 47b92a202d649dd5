"""Workload 4: many replicates of the trivial pipeline, serial, peak memory (this project only).

Usage: ``python scale.py REPLICATES`` in a temporary working directory. Measures the
peak RSS after import and construction, the wall time of one ``run()`` and the peak RSS
after it, then asks the run store how many records it holds for the run. Prints one
JSON line.
"""

from __future__ import annotations

import sys

from common import emit, error_count, peak_rss_mib, timed_run, trivial_experiment

NAME = "bench_scale"


def stored_records(name: str) -> int:
    """Records the run store holds for the newest run of experiment ``name``."""
    from crystallize.store import list_runs

    runs = list_runs("data", name)
    return runs[0].n_records if runs else 0


def main() -> None:
    """Time one large run and report memory and stored records."""
    replicates = int(sys.argv[1])
    experiment = trivial_experiment(replicates, name=NAME)
    rss_before = peak_rss_mib()
    seconds, result = timed_run(experiment)
    rss_peak = peak_rss_mib()
    errors = error_count(result)
    del result
    emit(
        seconds=seconds,
        replicates=replicates,
        conditions=2,
        rss_before_mib=rss_before,
        peak_rss_mib=rss_peak,
        stored_records=stored_records(NAME),
        errors=errors,
    )


if __name__ == "__main__":
    main()
