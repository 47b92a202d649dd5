"""`import crystallize` stays light: heavy and optional modules load on first use."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "scipy", "pandas", "textual", "ray", "matplotlib", "mlflow", "optuna",
         "pydantic", "yaml", "sqlite3", "asyncio", "inspect", "dataclasses", "pathlib")


def test_import_loads_no_heavy_modules():
    code = f"import sys, crystallize; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_names_resolve():
    import crystallize

    for name in ("RayExecution", "ExperimentGraph", "MlflowPlugin", "quick_experiment", "explore"):
        assert getattr(crystallize, name) is not None
