"""The benchmark suite still runs: ``benchmarks/run.py --smoke`` (tiny sizes, no peer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_prints_the_tables(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--output", str(output)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| workload"))
    assert "ours" in header and "loop" in header and "floor" in header
    for workload in ("trivial", "import", "process", "scale", "cached"):
        assert any(line.startswith(f"| {workload} ") for line in lines), workload
    assert any(line.startswith("| target") for line in lines)
    report = json.loads(output.read_text())
    scale = report["results"]["scale"]["ours"]
    assert scale["stored_records"] == scale["expected_records"]
    floor = report["results"]["trivial"]["floor"]
    assert floor["stored_records"] == 2 * 2 * 20  # warm-up and timed pass, 2 conditions
    assert report["floor_budget"].startswith("floor (the contract's per-replicate work")
    assert report["floor_budget"] in done.stdout


def test_profile_summary_counts_only_the_runs_of_the_driver() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from profile_ours import summarise_stacks
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    run = "<module> (p.py:1);repeat_runs (p.py:2);Experiment.run (e.py:3)"
    stacks = [
        f"{run};seed (s.py:4) 30",
        f"{run};digest (h.py:5) 10",
        "<module> (p.py:1);repeat_runs (p.py:2);_find_and_load (<frozen>:1) 50",  # imports
        "<module> (p.py:1);repeat_runs (p.py:2);warm_up (p.py:3);Experiment.run (e.py:3);getsource (i.py:1) 70",
        "Thread.run (t.py:1);RecordWriter._run (w.py:2);Condition.wait (t.py:3) 99",  # idle
        "Thread.run (t.py:1);RecordWriter._run (w.py:2);append_records (s.py:9) 5",
    ]
    report = summarise_stacks(stacks, top=5)
    assert "40 driver samples" in report
    assert " 75.0%  seed (s.py:4)" in report and " 25.0%  digest (h.py:5)" in report
    assert "100.0%  Experiment.run" in report
    assert " 12.5%  append_records" in report  # writer busy, as a share of the driver's
    assert "Condition.wait" not in report and "_find_and_load" not in report
    assert "getsource" not in report and "warm_up" not in report  # the first run is left out


def _process_results(serial_seconds: list[float]) -> dict:
    samples = [{"serial_seconds": s, "speedup": 1.9} for s in serial_seconds]
    return {"process": {"loop": {"speedup": 1.9, "samples": samples}}}


def test_unsteady_cpu_speed_is_flagged() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from report import caveats
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    unsteady = caveats(_process_results([0.90, 1.02, 1.22]), {}, smoke=False)
    assert len(unsteady) == 1 and "from 0.900 to 1.220 s" in unsteady[0]
    assert caveats(_process_results([1.00, 1.02, 1.05]), {}, smoke=False) == []
    assert caveats(_process_results([0.90, 1.22]), {}, smoke=True) == []
