"""The crystallize.stats package: exports, docstrings, lazy imports, Hypothesis integration."""

from __future__ import annotations

import ast
import inspect
import pathlib
import subprocess
import sys

import pytest
from statsmodels.stats.multitest import multipletests

import crystallize.stats as cstats
from crystallize.hypothesis import Hypothesis, Verifier
from crystallize.stats import welch_t_test

STATS_DIR = pathlib.Path(cstats.__file__).parent
HEAVY = ("numpy", "scipy", "statsmodels", "pandas")
VERIFIERS = [
    "welch_t_test",
    "mann_whitney",
    "permutation_test",
    "bootstrap_ci",
    "fisher_exact",
    "chi2",
    "paired_t_test",
    "wilcoxon",
]


def test_all_exports() -> None:
    assert set(cstats.__all__) == set(VERIFIERS) | {
        "adjust_p_values",
        "replicates_needed",
        "VerifierArgumentError",
    }
    for name in cstats.__all__:
        assert getattr(cstats, name).__doc__, name


@pytest.mark.parametrize("name", VERIFIERS)
def test_verifier_factories(name: str) -> None:
    factory = getattr(cstats, name)
    assert hasattr(factory, "__crystallize_verifier__")
    bound = factory(alpha=0.1)
    assert isinstance(bound, Verifier)
    params = inspect.signature(factory.__crystallize_verifier__).parameters
    assert params["alpha"].default == 0.05
    assert params["alternative"].default == "two-sided"
    assert params["metric"].default is None


def test_import_does_not_load_scipy() -> None:
    code = (
        "import sys, crystallize.stats\n"
        "heavy = [m for m in ('scipy', 'statsmodels') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_no_module_level_heavy_imports() -> None:
    for path in sorted(STATS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.If):  # allow `if TYPE_CHECKING:` blocks
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in HEAVY, f"{path.name} imports {name} eagerly"


def test_hypothesis_integration_with_holm() -> None:
    baseline = {"score": [0.50, 0.52, 0.49, 0.51, 0.50, 0.48]}
    treatments = {
        "t1": {"score": [0.55, 0.56, 0.54, 0.57, 0.55, 0.53]},
        "t2": {"score": [0.51, 0.53, 0.50, 0.52, 0.49, 0.52]},
    }
    hyp = Hypothesis(verifier=welch_t_test(), metrics="score", correction="holm")
    result = hyp.verify(baseline, treatments)
    raw = [result.results[t]["p_value"] for t in ("t1", "t2")]
    expected = multipletests(raw, method="holm")[1]
    for name, p_adj in zip(("t1", "t2"), expected, strict=True):
        entry = result.results[name]
        assert "error" not in entry
        assert entry["p_value_adjusted"] == pytest.approx(p_adj)
        assert entry["significant"] is bool(p_adj < 0.05)
        assert entry["correction"] == "holm"
    assert result.ranking == ["t1", "t2"]
    assert result.results["t1"]["significant"] is True


def test_hypothesis_integration_nested_metrics() -> None:
    baseline = {"a": [1.0, 2.0, 3.0, 2.0], "b": [5.0, 5.5, 6.0, 5.2]}
    treatments = {"t": {"a": [2.0, 3.0, 4.0, 3.5], "b": [5.1, 5.4, 6.2, 5.0]}}
    hyp = Hypothesis(verifier=welch_t_test(), metrics=["a", "b"], correction="bonferroni")
    out = hyp.verify(baseline, treatments).results["t"]
    raw = [out["a"]["p_value"], out["b"]["p_value"]]
    expected = multipletests(raw, method="bonferroni")[1]
    assert [out["a"]["p_value_adjusted"], out["b"]["p_value_adjusted"]] == pytest.approx(
        list(expected)
    )


def test_hypothesis_turns_bad_input_into_error_entries() -> None:
    hyp = Hypothesis(verifier=welch_t_test(), metrics="score")
    result = hyp.verify(
        {"score": [1.0, 2.0, 3.0]}, {"few": {"score": [1.0]}, "ok": {"score": [2.0, 3.0, 4.0]}}
    )
    assert "InsufficientSamplesError" in result.results["few"]["error"]
    assert result.ranking == ["ok", "few"]
