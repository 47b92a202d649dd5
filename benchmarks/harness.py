"""Running workload scripts in fresh subprocesses and summarizing what they print."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"


class WorkloadError(RuntimeError):
    """A workload subprocess failed or printed no JSON line."""


@dataclass(frozen=True)
class Impl:
    """One side of the comparison: a name and the interpreter that runs its workloads."""

    name: str
    python: Path


#: Variables removed from the workloads' environment. ``PYTHONDONTWRITEBYTECODE`` matters
#: most: without byte-code caches every import compiles from source, which would charge
#: an editable install (no ``.pyc`` written by pip) for compilation a user never pays.
UNSET_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "CRYSTALLIZE_CACHE_DIR",
)


def clean_env() -> dict[str, str]:
    """The environment for workload subprocesses: ours, minus anything that changes imports."""
    env = dict(os.environ)
    for key in UNSET_VARIABLES:
        env.pop(key, None)
    return env


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh temporary working directory (run stores, caches and artifacts land here)."""
    with tempfile.TemporaryDirectory(prefix="crystallize-bench-") as path:
        yield Path(path)


def run_script(
    impl: Impl, script: str, args: Sequence[Any], cwd: Path, timeout: float = 1800
) -> dict[str, Any]:
    """Run ``workloads/<script>`` with ``impl``'s interpreter; return its last JSON line.

    Raises:
        WorkloadError: on a non-zero exit, a timeout or output without JSON.
    """
    command = [str(impl.python), str(WORKLOADS_DIR / script), *map(str, args)]
    try:
        done = subprocess.run(
            command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkloadError(f"{impl.name}: {script} timed out after {timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-12:])
        raise WorkloadError(f"{impl.name}: {script} exited {done.returncode}:\n{tail}")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{impl.name}: {script} printed no JSON: {lines[-1]!r}") from exc


def wall_time(impl: Impl, code: str, cwd: Path) -> float:
    """Wall seconds of ``python -c code`` with ``impl``'s interpreter (start-up included)."""
    command = [str(impl.python), "-c", code]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise WorkloadError(f"{impl.name}: python -c {code!r} failed:\n{done.stderr[-800:]}")
    return seconds


def alternate(
    impls: Sequence[Impl],
    rounds: int,
    measure: Callable[[Impl], dict[str, Any]],
    warmup: int = 1,
) -> dict[str, list[dict[str, Any]]]:
    """Measure every implementation in turn, round after round: A, B, C, A, B, C, ...

    The first ``warmup`` rounds are run and thrown away (byte-code compilation, disk
    caches). Returns ``{impl name: [sample per kept round]}``.
    """
    samples: dict[str, list[dict[str, Any]]] = {impl.name: [] for impl in impls}
    for index in range(warmup + rounds):
        for impl in impls:
            sample = measure(impl)
            if index >= warmup:
                samples[impl.name].append(sample)
    return samples


def summarize(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Medians of every numeric field of the samples, plus the raw samples.

    Non-numeric fields (and booleans, which are kept only if true in every sample) are
    taken from the first sample.
    """
    if not samples:
        return {}
    summary: dict[str, Any] = {"rounds": len(samples), "samples": list(samples)}
    for key, first in samples[0].items():
        values = [s.get(key) for s in samples]
        if isinstance(first, bool):
            summary[key] = all(values)
        elif isinstance(first, int | float):
            summary[key] = statistics.median(values)
        else:
            summary[key] = first
    return summary


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the divisor is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
