"""Where this project's per-replicate time goes: cProfile over the trivial workload.

Usage: ``python benchmarks/profile_ours.py [REPLICATES] [--top N]`` (default 3,000
replicates, top 25). Runs in a temporary working directory: one warm-up run, then one
profiled ``run()``, printed sorted by own time and by cumulative time. Only the driver
thread is profiled: the run store's background writer thread is not, but it competes
for the GIL, and that wait is charged to whatever driver frame was running. So an
ablation comes first: the same run timed without the store (``ArtifactPlugin(root_dir=None)``),
without seeding (a no-op ``seed_fn``) and without both, medians of 5 warm runs each.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "workloads"))


def _no_seed(seed: int) -> None:
    """A seed function that does nothing (to measure what seeding costs)."""


def ablation(replicates: int, runs: int = 5) -> str:
    """Median µs per condition×replicate of the trivial run with parts switched off."""
    from common import trivial_experiment

    from crystallize import ArtifactPlugin, SeedPlugin

    variants = {
        "default (store + seeding)": [],
        "no store": [ArtifactPlugin(root_dir=None)],
        "no seeding": [SeedPlugin(seed_fn=_no_seed)],
        "no store, no seeding": [ArtifactPlugin(root_dir=None), SeedPlugin(seed_fn=_no_seed)],
    }
    lines = ["=== ablation: µs per condition×replicate (median of warm runs) ==="]
    for label, plugins in variants.items():
        experiment = trivial_experiment(replicates, name="profile_" + str(len(lines)), plugins=plugins)
        experiment.run()  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            experiment.run()
            times.append(time.perf_counter() - start)
        lines.append(f"{label:28s} {statistics.median(times) / (2 * replicates) * 1e6:8.1f}")
    return "\n".join(lines)


def profile(replicates: int, top: int) -> str:
    """Profile one warm run of the trivial experiment; return the two reports."""
    from common import trivial_experiment

    experiment = trivial_experiment(replicates)
    experiment.run()  # warm-up: lazy imports, first-run set-up
    profiler = cProfile.Profile()
    profiler.enable()
    experiment.run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    for order in ("tottime", "cumulative"):
        out.write(f"\n=== sorted by {order} ===\n")
        stats.sort_stats(order).print_stats(top)
    return out.getvalue()


def main() -> None:
    """Parse the arguments and print the profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("replicates", type=int, nargs="?", default=3000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crystallize-profile-") as cwd:
        os.chdir(cwd)
        print(ablation(args.replicates))
        print(profile(args.replicates, args.top))


if __name__ == "__main__":
    main()
