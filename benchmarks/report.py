"""Turning workload summaries into the measurement table, the target verdicts and JSON.

Tables are plain Markdown (pipe) tables: readable in a terminal and pasteable as is into
``docs/performance.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ratio

Results = dict[str, dict[str, Any]]
SIDES = ("ours", "peer", "loop", "floor")

#: The largest ratio between the slowest and the fastest round of the same serial CPU
#: work that still counts as a steady machine.
STEADY_SPREAD = 1.15


@dataclass(frozen=True)
class Row:
    """One measurement: a field of a workload's summaries, scaled and formatted."""

    workload: str
    label: str
    key: str
    scale: float = 1.0
    spec: str = ".1f"


ROWS = (
    Row("trivial", "µs per condition×replicate (ratio basis)", "per_cond_rep_us"),
    Row("trivial", "µs per replicate (both conditions)", "per_rep_us"),
    Row("trivial", "run() wall, ms", "seconds", 1e3, ".2f"),
    Row("import", "python -c 'import crystallize', ms (loop: python -c pass)", "seconds", 1e3),
    Row("process", "serial run, s", "serial_seconds", 1, ".3f"),
    Row("process", "2-process run, s", "parallel_seconds", 1, ".3f"),
    Row("process", "speedup ×", "speedup", 1, ".2f"),
    Row("scale", "run() wall, s", "seconds", 1, ".2f"),
    Row("scale", "µs per condition×replicate", "per_cond_rep_us"),
    Row("scale", "RSS before run(), MiB", "rss_before_mib"),
    Row("scale", "peak RSS, MiB", "peak_rss_mib"),
    Row("scale", "records in the store", "stored_records", 1, ",.0f"),
    Row("cached", "first (uncached) run, s", "first_seconds", 1, ".3f"),
    Row("cached", "cached rerun, same process, ms", "rerun_seconds", 1e3, ".1f"),
    Row("cached", "rerun / first", "rerun_ratio", 1, ".2%"),
    Row("cached", "cached rerun, new process, ms", "fresh_rerun_seconds", 1e3, ".1f"),
    Row("cached", "new-process rerun / first", "fresh_rerun_ratio", 1, ".2%"),
)


def value(results: Results, workload: str, side: str, key: str) -> float | None:
    """The median ``key`` of ``side`` in ``workload``, or None when it was not measured."""
    return results.get(workload, {}).get(side, {}).get(key)


def fmt(number: float | None, spec: str = ".1f", scale: float = 1.0) -> str:
    """Format a measured number; a dash when it is missing."""
    return "—" if number is None else format(number * scale, spec)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A pipe table with columns padded to their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def measurement_table(results: Results) -> str:
    """Medians of every measurement, one column per side, plus ours/peer."""
    rows = []
    for row in ROWS:
        if row.workload not in results:
            continue
        cells = [value(results, row.workload, side, row.key) for side in SIDES]
        if all(cell is None for cell in cells):
            continue
        quotient = ratio(cells[0], cells[1])
        rows.append(
            [row.workload, row.label, *(fmt(c, row.spec, row.scale) for c in cells), fmt(quotient, ".3f")]
        )
    return markdown_table(["workload", "measure (median)", *SIDES, "ours/peer"], rows)


# -- targets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A target of the issue: how to compute the measured value and when it passes."""

    name: str
    workload: str
    threshold: str
    measure: Callable[[Results], float | None]
    passes: Callable[[float], bool]
    spec: str


def _ours_over_peer(workload: str, key: str) -> Callable[[Results], float | None]:
    return lambda r: ratio(value(r, workload, "ours", key), value(r, workload, "peer", key))


def _ours_over_loop(workload: str, key: str) -> Callable[[Results], float | None]:
    return lambda r: ratio(value(r, workload, "ours", key), value(r, workload, "loop", key))


def _ours(workload: str, key: str) -> Callable[[Results], float | None]:
    return lambda r: value(r, workload, "ours", key)


def _missing_records(r: Results) -> float | None:
    stored = value(r, "scale", "ours", "stored_records")
    expected = value(r, "scale", "ours", "expected_records")
    return None if stored is None else expected - stored


TARGETS = (
    Target("per-replicate time, ours/peer", "trivial", "≤ 0.10",
           _ours_over_peer("trivial", "per_cond_rep_us"), lambda x: x <= 0.10, ".3f"),
    Target("per-replicate time, ours/loop (informal: 'about twice')", "trivial", "≤ 2.0",
           _ours_over_loop("trivial", "per_cond_rep_us"), lambda x: x <= 2.0, ".2f"),
    Target("2-process speedup (ours)", "process", "≥ 1.85",
           _ours("process", "speedup"), lambda x: x >= 1.85, ".2f"),
    Target("import time, ours/peer", "import", "≤ 0.20",
           _ours_over_peer("import", "seconds"), lambda x: x <= 0.20, ".3f"),
    Target("peak RSS at scale, MiB (ours)", "scale", "< 300",
           _ours("scale", "peak_rss_mib"), lambda x: x < 300, ".1f"),
    Target("records missing from the store at scale", "scale", "= 0",
           _missing_records, lambda x: x == 0, ",.0f"),
    Target("cached rerun / first run (ours, same process)", "cached", "≤ 5%",
           _ours("cached", "rerun_ratio"), lambda x: x <= 0.05, ".2%"),
)


def evaluate(results: Results, smoke: bool) -> list[dict[str, Any]]:
    """Each target's measured value and verdict (``n/a`` when unmeasured or in smoke mode)."""
    verdicts = []
    for target in TARGETS:
        if target.workload not in results:
            continue
        measured = target.measure(results)
        if measured is None or smoke:
            verdict = "n/a"
        else:
            verdict = "PASS" if target.passes(measured) else "FAIL"
        verdicts.append(
            {
                "target": target.name,
                "measured": measured,
                "shown": fmt(measured, target.spec),
                "threshold": target.threshold,
                "verdict": verdict,
            }
        )
    return verdicts


def target_table(verdicts: Sequence[dict[str, Any]]) -> str:
    """The verdicts as a pipe table."""
    rows = [[v["target"], v["shown"], v["threshold"], v["verdict"]] for v in verdicts]
    return markdown_table(["target", "measured", "threshold", "verdict"], rows)


def caveats(results: Results, other_cpus: Mapping[str, float | None], smoke: bool) -> list[str]:
    """Warnings about the measurement conditions (other work on the machine skews timings).

    The process-pool control is checked only at full size (smoke work is too small).
    """
    notes = []
    busy = {name: cpus for name, cpus in other_cpus.items() if cpus is not None and cpus > 0.2}
    if busy:
        shown = ", ".join(f"{name} {cpus:.2f}" for name, cpus in busy.items())
        notes.append(
            f"other processes kept CPUs busy during: {shown} (average CPUs out of "
            f"{os.cpu_count()}); rerun on a quiet machine before trusting small differences."
        )
    control = value(results, "process", "loop", "speedup")
    if control is not None and control < 1.85 and not smoke:
        notes.append(
            f"the plain process pool itself reached only {control:.2f}×: the CPUs were not free, "
            "so the process speedups are unreliable."
        )
    serial = [s["serial_seconds"] for s in results.get("process", {}).get("loop", {}).get("samples", [])]
    if len(serial) > 1 and max(serial) > STEADY_SPREAD * min(serial) and not smoke:
        notes.append(
            f"the same serial CPU work (plain loop) took from {min(serial):.3f} to {max(serial):.3f} s "
            "between rounds: the CPUs' speed was not steady, so the process speedups are unreliable."
        )
    return notes


def floor_budget(results: Results) -> str | None:
    """What the per-replicate target leaves a framework: the peer's time × 0.10 minus the
    *floor* (the contract's work per condition × replicate without a framework), next to
    what ours adds to the floor. None when the floor was not measured."""
    key = "per_cond_rep_us"
    floor, ours, peer = (value(results, "trivial", side, key) for side in ("floor", "ours", "peer"))
    if floor is None:
        return None
    text = f"floor (the contract's per-replicate work, no framework): {floor:.1f} µs per condition×replicate"
    if peer is not None:
        text += (
            f" = {floor / peer:.3f}× the peer; the ≤ 0.10 target leaves {0.10 * peer - floor:.1f} µs"
            " for everything a framework adds"
        )
    if ours is not None:
        text += f"; ours adds {ours - floor:.1f} µs"
    return text + "."


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write the full report (config, per-round samples, medians, verdicts) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
