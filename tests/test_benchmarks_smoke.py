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
    assert "ours" in header and "loop" in header
    for workload in ("trivial", "import", "process", "scale", "cached"):
        assert any(line.startswith(f"| {workload} ") for line in lines), workload
    assert any(line.startswith("| target") for line in lines)
    report = json.loads(output.read_text())
    scale = report["results"]["scale"]["ours"]
    assert scale["stored_records"] == scale["expected_records"]
