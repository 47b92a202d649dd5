"""Where this project's per-replicate time goes, on the trivial workload.

Usage::

    python benchmarks/profile_ours.py [REPLICATES] [--top N] [--sampler cprofile|py-spy]

Runs in a temporary working directory. First an ablation: the trivial run (300
replicates by default, the size the suite times) with parts switched off — without the
store (``ArtifactPlugin(root_dir=None)``), without seeding (a no-op ``seed_fn``) and
without both — medians of warm runs, in µs per condition×replicate. Then a profile:

* ``--sampler py-spy`` (the default when ``py-spy`` is installed, ``pip install -e
  '.[profile]'``): samples repeated warm runs for a few seconds at 2 kHz and prints each
  function's share of the driver thread's samples, own and inclusive. Sampling does not
  slow the code down, so the shares are trustworthy; the writer thread's busy samples
  are reported separately.
* ``--sampler cprofile``: one profiled run, sorted by own and cumulative time. Its
  per-call overhead inflates small functions; use it for call counts.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = Path(__file__).resolve().parent / "workloads"
sys.path.insert(0, str(WORKLOADS))


def _no_seed(seed: int) -> None:
    """A seed function that does nothing (to measure what seeding costs)."""


def variants() -> dict[str, list]:
    """The ablation variants: plugins added to the trivial experiment."""
    from crystallize import ArtifactPlugin, SeedPlugin

    return {
        "default (store + seeding)": [],
        "no store": [ArtifactPlugin(root_dir=None)],
        "no seeding": [SeedPlugin(seed_fn=_no_seed)],
        "no store, no seeding": [ArtifactPlugin(root_dir=None), SeedPlugin(seed_fn=_no_seed)],
    }


def ablation(replicates: int, rounds: int = 15) -> str:
    """Median µs per condition×replicate of the trivial run with parts switched off.

    The variants are interleaved round by round so that a slow moment of the machine
    affects all of them alike.
    """
    from common import trivial_experiment

    experiments = {
        label: trivial_experiment(replicates, name=f"profile_{i}", plugins=plugins)
        for i, (label, plugins) in enumerate(variants().items())
    }
    times: dict[str, list[float]] = {label: [] for label in experiments}
    for experiment in experiments.values():
        experiment.run()  # warm-up
    for _ in range(rounds):
        for label, experiment in experiments.items():
            start = time.perf_counter()
            experiment.run()
            times[label].append(time.perf_counter() - start)
    lines = ["=== ablation: µs per condition×replicate (median of warm runs) ==="]
    for label, samples in times.items():
        lines.append(f"{label:28s} {statistics.median(samples) / (2 * replicates) * 1e6:8.1f}")
    return "\n".join(lines)


def cprofile_report(replicates: int, top: int) -> str:
    """Profile one warm run of the trivial experiment with cProfile."""
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


def repeat_runs(replicates: int, seconds: float) -> None:
    """Run the trivial experiment warm, again and again, for ``seconds`` (py-spy's target)."""
    from common import trivial_experiment

    experiment = trivial_experiment(replicates)
    warm_up(experiment)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        experiment.run()


def warm_up(experiment) -> None:  # noqa: ANN001 - a crystallize Experiment
    """The first run of the process (lazy imports, code digests, the store's creation):
    a function of its own so that :func:`summarise_stacks` can leave its samples out."""
    experiment.run()


def pyspy_report(py_spy: str, replicates: int, top: int, seconds: float = 6.0) -> str:
    """Sample repeated warm runs with py-spy; summarise own and inclusive shares."""
    with tempfile.TemporaryDirectory(prefix="crystallize-spy-") as tmp:
        raw = Path(tmp) / "stacks.txt"
        command = [
            py_spy, "record", "--rate", "2000", "--format", "raw", "--output", str(raw), "--",
            sys.executable, __file__, str(replicates), "--repeat-for", str(seconds),
        ]
        subprocess.run(command, check=True, capture_output=True)
        return summarise_stacks(raw.read_text().splitlines(), top)


def summarise_stacks(lines: list[str], top: int) -> str:
    """Own and inclusive shares of the driver thread from py-spy's folded stacks.

    Samples of start-up, imports and the warm-up run (:func:`warm_up`) are left out,
    and so are the writer thread's idle waits.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    writer: collections.Counter[str] = collections.Counter()
    driver_total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        names = {frame.split(" (")[0] for frame in frames}
        if "RecordWriter._run" in names:
            if "Condition.wait" not in frames[-1]:
                writer.update(dict.fromkeys(names, count))
            continue
        if "repeat_runs" not in names or "_find_and_load" in names or "warm_up" in names:
            continue  # start-up, imports and the first run, not the warm runs
        driver_total += count
        own[frames[-1]] += count
        inclusive.update(dict.fromkeys(names, count))
    if not driver_total:
        return "py-spy recorded no samples of the runs."

    def table(title: str, counter: collections.Counter[str]) -> list[str]:
        rows = [f"\n=== {title} (share of the driver thread's samples) ==="]
        rows += [f"{n / driver_total * 100:5.1f}%  {name}" for name, n in counter.most_common(top)]
        return rows

    lines_out = [f"py-spy: {driver_total} driver samples of warm runs"]
    lines_out += table("own time by line", own)
    lines_out += table("inclusive time by function", inclusive)
    lines_out += table("writer thread, busy", writer)
    return "\n".join(lines_out)


def main() -> None:
    """Parse the arguments, print the ablation and the profile."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("replicates", type=int, nargs="?", default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sampler", choices=("py-spy", "cprofile"), default=None)
    parser.add_argument("--repeat-for", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crystallize-profile-") as cwd:
        os.chdir(cwd)
        if args.repeat_for is not None:  # the child py-spy samples
            repeat_runs(args.replicates, args.repeat_for)
            return
        print(ablation(args.replicates))
        py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        sampler = args.sampler or ("py-spy" if py_spy else "cprofile")
        if sampler == "py-spy":
            if not py_spy:
                sys.exit("py-spy is not installed: pip install -e '.[profile]' (or use --sampler cprofile)")
            print(pyspy_report(py_spy, args.replicates, args.top))
        else:
            print(cprofile_report(args.replicates, args.top))


if __name__ == "__main__":
    main()
