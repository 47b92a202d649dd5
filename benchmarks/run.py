"""Benchmark this project against its peer (``crystallize-ml`` 0.27.0) and a plain loop.

Usage::

    python benchmarks/run.py                  # everything (installs the peer on first use)
    python benchmarks/run.py --only trivial   # one workload: trivial, import, process, scale, cached
    python benchmarks/run.py --rounds 9       # more rounds per workload (default 5)
    python benchmarks/run.py --smoke          # tiny sizes, no peer: a quick check that it all works

Prints the medians with ours/peer ratios and a PASS/FAIL line per target, and writes
everything (per-round samples included) to ``benchmarks/results/latest.json``
(``smoke.json`` with ``--smoke``). Targets
are checked only at full size (``--smoke`` shows ``n/a``). Exits 0 whatever the verdicts,
unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import peer_env
from harness import Impl, WorkloadError
from machine_load import LoadMeter
from report import caveats, evaluate, floor_budget, measurement_table, target_table, write_json
from suite import FULL, SMOKE, WORKLOADS, Suite

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(WORKLOADS), action="append",
                        help="run only this workload (repeatable)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measured rounds per workload (default 5; 1 with --smoke)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, no peer install; finishes in seconds")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer implementation")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter with this project installed (default: this one)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the JSON (default results/latest.json, smoke.json with --smoke)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.smoke else 5
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.output is None:
        args.output = RESULTS_DIR / ("smoke.json" if args.smoke else "latest.json")
    return args


def log(message: str) -> None:
    """Progress goes to stderr; stdout keeps the tables."""
    print(message, file=sys.stderr, flush=True)


def peer_impl(args: argparse.Namespace) -> Impl | None:
    """The peer's interpreter, installing it if needed; None when skipped or unavailable."""
    if args.smoke or args.no_peer:
        return None
    try:
        return Impl("peer", peer_env.ensure_peer(log=log))
    except peer_env.PeerUnavailable as exc:
        log(f"peer unavailable, continuing without it: {exc}")
        return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": source_revision(),
    }


def source_revision() -> str:
    """The repository's commit, with ``+dirty`` when ``src/`` has uncommitted changes."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=BENCH_DIR, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "../src") else "")


def run_workloads(suite: Suite, names: list[str], load: dict[str, float | None]) -> dict[str, Any]:
    """Run the named workloads in order; a failing workload is reported, not fatal.

    ``load[name]`` receives the average number of CPUs other work kept busy meanwhile.
    """
    results: dict[str, Any] = {}
    meter = LoadMeter()
    for name in names:
        start = time.perf_counter()
        meter.start()
        try:
            results[name] = WORKLOADS[name](suite)
        except WorkloadError as exc:
            log(f"[{name}] FAILED: {exc}")
            results[name] = {"error": str(exc)}
        else:
            log(f"[{name}] done in {time.perf_counter() - start:.1f} s")
        load[name] = meter.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the tables, write the JSON; the exit code follows ``--strict``."""
    args = parse_args(argv)
    peer = peer_impl(args)
    suite = Suite(
        ours=Impl("ours", Path(args.python)),
        loop=Impl("loop", Path(args.python)),
        floor=Impl("floor", Path(args.python)),
        peer=peer,
        sizes=SMOKE if args.smoke else FULL,
        rounds=args.rounds,
        log=log,
    )
    names = args.only or list(WORKLOADS)
    load: dict[str, float | None] = {}
    results = run_workloads(suite, names, load)
    measured = {name: r for name, r in results.items() if "error" not in r}
    verdicts = evaluate(measured, smoke=args.smoke)

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sizes = suite.sizes
    mode = (
        "smoke sizes (verdicts n/a)"
        if args.smoke
        else f"{args.rounds} rounds ({max(sizes.trivial_runs, args.rounds)} for trivial, "
        f"{max(sizes.import_runs, args.rounds)} for import), medians"
    )
    print(f"\nCrystallize benchmarks — {when} — {os.cpu_count()} CPUs — {mode}\n")
    print(measurement_table(measured))
    print()
    print(target_table(verdicts))
    budget = floor_budget(measured)
    if budget:
        print(f"\n{budget}")
    notes = caveats(measured, load, smoke=args.smoke)
    for note in notes:
        print(f"\nnote: {note}")
    failed = [name for name, r in results.items() if "error" in r]
    if failed:
        print(f"\nworkloads that failed: {', '.join(failed)} (see stderr)")

    write_json(args.output, {
        "date": when,
        "smoke": args.smoke,
        "machine": machine(),
        "config": suite.describe(),
        "results": results,
        "targets": verdicts,
        "floor_budget": budget,
        "other_cpus_busy": load,
        "notes": notes,
    })
    log(f"wrote {args.output}")
    if failed:
        return 1
    return 1 if args.strict and any(v["verdict"] == "FAIL" for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
