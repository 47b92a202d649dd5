"""The five workloads: what each runs, on which implementations, and how it is summarized.

Every sample comes from a fresh subprocess in a fresh temporary working directory, and
implementations alternate round by round (ours, peer, loop, ours, peer, loop, ...).
Medians over the kept rounds are reported; one extra warm-up round is thrown away.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness import (
    WORKLOADS_DIR,
    Impl,
    WorkloadError,
    alternate,
    run_script,
    scratch_dir,
    summarize,
    wall_time,
)

sys.path.insert(0, str(WORKLOADS_DIR))
from cpu import calibrate  # noqa: E402  (lives next to the workload scripts)

CONDITIONS = 2  # baseline + one treatment in the trivial and CPU-bound workloads


@dataclass(frozen=True)
class Sizes:
    """Problem sizes; :data:`FULL` is what the targets are stated for."""

    trivial_replicates: int = 300
    trivial_runs: int = 15  # each sample is a single short run(): more rounds steady the median
    import_runs: int = 7
    process_replicates: int = 12
    process_seconds: float = 0.05
    workers: int = 2
    scale_replicates: int = 100_000
    cached_replicates: int = 4
    cached_seconds: float = 0.1


FULL = Sizes()
SMOKE = Sizes(
    trivial_replicates=20,
    trivial_runs=1,
    import_runs=2,
    process_replicates=2,
    process_seconds=0.005,
    scale_replicates=2_000,
    cached_replicates=2,
    cached_seconds=0.01,
)


@dataclass
class Suite:
    """Runs workloads on this project (``ours``), the ``peer`` (optional) and a plain ``loop``.

    ``loop`` is this project's interpreter running framework-free scripts; so is ``floor``,
    measured on the trivial workload only: the loop plus the rest of the work the public
    contract asks of each condition × replicate (digests, one stored record), with no
    framework (see ``workloads/loop.py``).
    """

    ours: Impl
    loop: Impl
    floor: Impl
    peer: Impl | None
    sizes: Sizes
    rounds: int
    log: Callable[[str], None] = print
    calibration: dict[str, Any] = field(default_factory=dict)

    @property
    def frameworks(self) -> list[Impl]:
        """This project, then the peer when it is available."""
        return [self.ours] + ([self.peer] if self.peer else [])

    def _announce(self, name: str, impls: list[Impl], rounds: int, warmup: int = 1) -> None:
        sides = ", ".join(impl.name for impl in impls)
        self.log(f"[{name}] {sides}: {rounds} round(s) + {warmup} warm-up")

    # -- 1. trivial pipeline -------------------------------------------------------------
    def trivial(self) -> dict[str, Any]:
        """Per-replicate cost of the trivial three-step pipeline (300 × 2, serial)."""
        n = self.sizes.trivial_replicates
        runs = max(self.sizes.trivial_runs, self.rounds)
        impls = [*self.frameworks, self.loop, self.floor]
        self._announce("trivial", impls, runs)
        scripts = {self.loop.name: ("loop.py", ["trivial", n]), self.floor.name: ("loop.py", ["floor", n])}

        def measure(impl: Impl) -> dict[str, Any]:
            script, args = scripts.get(impl.name, ("trivial.py", [n]))
            with scratch_dir() as cwd:
                sample = run_script(impl, script, args, cwd)
            _check_work(impl, sample, {"baseline": n, "plus_one": n})
            if impl is self.floor and sample["stored_records"] != 2 * n * CONDITIONS:  # warm-up pass too
                raise WorkloadError(f"floor: stored {sample['stored_records']} records, expected {2 * n * CONDITIONS}")
            sample["per_cond_rep_us"] = sample["seconds"] / (n * CONDITIONS) * 1e6
            sample["per_rep_us"] = sample["seconds"] / n * 1e6
            return sample

        return self._collect(impls, measure, rounds=runs)

    # -- 2. import time ------------------------------------------------------------------
    def imports(self) -> dict[str, Any]:
        """Wall time of ``python -c "import crystallize"``; the loop side is ``python -c pass``."""
        runs = max(self.sizes.import_runs, self.rounds)
        impls = [*self.frameworks, self.loop]
        self._announce("import", impls, runs)

        def measure(impl: Impl) -> dict[str, Any]:
            code = "pass" if impl is self.loop else "import crystallize"
            with scratch_dir() as cwd:
                return {"seconds": wall_time(impl, code, cwd)}

        return self._collect(impls, measure, rounds=runs)

    # -- 3. process speedup --------------------------------------------------------------
    def process(self) -> dict[str, Any]:
        """Serial versus 2-process time of CPU-bound replicates (12 × 2 of ~50 ms)."""
        size = self.sizes
        iterations = calibrate(size.process_seconds)
        self.calibration["process_iterations"] = iterations
        self.log(f"[process] ~{size.process_seconds * 1e3:.0f} ms of work = {iterations} iterations")
        impls = [*self.frameworks, self.loop]
        self._announce("process", impls, self.rounds)
        n = size.process_replicates

        def measure(impl: Impl) -> dict[str, Any]:
            if impl is self.loop:
                script, args = "loop.py", ["process", n, iterations, size.workers]
            else:
                script, args = "process.py", [n, iterations, size.workers]
            with scratch_dir() as cwd:
                sample = run_script(impl, script, args, cwd)
            if impl is not self.loop:
                _check_work(impl, sample, {"baseline": n, "plus_one": n})
            if not sample["same_metrics"]:
                raise WorkloadError(f"{impl.name}: parallel results differ from serial ones")
            return sample

        return self._collect(impls, measure)

    # -- 4. scale ------------------------------------------------------------------------
    def scale(self) -> dict[str, Any]:
        """100,000 × 2 replicates serially (this project only): time, peak RSS, stored records."""
        n = self.sizes.scale_replicates
        self._announce("scale", [self.ours], 1, warmup=0)

        def measure(impl: Impl) -> dict[str, Any]:
            with scratch_dir() as cwd:
                sample = run_script(impl, "scale.py", [n], cwd, timeout=3600)
            sample["per_cond_rep_us"] = sample["seconds"] / (n * CONDITIONS) * 1e6
            sample["expected_records"] = n * CONDITIONS
            return sample

        return self._collect([self.ours], measure, rounds=1, warmup=0)

    # -- 5. cached rerun -----------------------------------------------------------------
    def cached(self) -> dict[str, Any]:
        """Uncached first run versus fully cached reruns of three 100 ms cacheable steps."""
        size = self.sizes
        self._announce("cached", self.frameworks, self.rounds)

        def measure(impl: Impl) -> dict[str, Any]:
            args = [size.cached_replicates, size.cached_seconds]
            with scratch_dir() as cwd:
                sample = run_script(impl, "cached.py", [*args, "first"], cwd)
                sample.update(run_script(impl, "cached.py", [*args, "fresh"], cwd))
            _check_work(impl, sample, {"baseline": size.cached_replicates})
            sample["rerun_ratio"] = sample["rerun_seconds"] / sample["first_seconds"]
            sample["fresh_rerun_ratio"] = sample["fresh_rerun_seconds"] / sample["first_seconds"]
            return sample

        return self._collect(self.frameworks, measure)

    # -- helpers -------------------------------------------------------------------------
    def _collect(
        self,
        impls: list[Impl],
        measure: Callable[[Impl], dict[str, Any]],
        rounds: int | None = None,
        warmup: int = 1,
    ) -> dict[str, Any]:
        """Alternate the implementations, then keep the medians per implementation."""
        samples = alternate(impls, rounds or self.rounds, measure, warmup=warmup)
        return {name: summarize(kept) for name, kept in samples.items()}

    def describe(self) -> dict[str, Any]:
        """The configuration, for the JSON report."""
        return {
            "sizes": asdict(self.sizes),
            "rounds": self.rounds,
            "implementations": {impl.name: str(impl.python) for impl in [*self.frameworks, self.loop, self.floor]},
            **self.calibration,
        }


def _check_work(impl: Impl, sample: dict[str, Any], expected: dict[str, int]) -> None:
    """Fail loudly when a run did not record one metric per replicate and condition."""
    if sample.get("errors"):
        raise WorkloadError(f"{impl.name}: the run reported {sample['errors']} replicate error(s)")
    if sample.get("metrics") != expected:
        raise WorkloadError(f"{impl.name}: expected metric counts {expected}, got {sample.get('metrics')}")


WORKLOADS: dict[str, Callable[[Suite], dict[str, Any]]] = {
    "trivial": Suite.trivial,
    "import": Suite.imports,
    "process": Suite.process,
    "scale": Suite.scale,
    "cached": Suite.cached,
}

__all__ = ["FULL", "SMOKE", "WORKLOADS", "Sizes", "Suite"]
