"""Optional dependencies: missing packages and packages that fail to import."""

from __future__ import annotations

import sys

import pytest

from crystallize.exceptions import OptionalDependencyError
from crystallize.utils.optional import require


@pytest.fixture
def packages(tmp_path, monkeypatch):
    (tmp_path / "broken_dep.py").write_text("import numpy.core.multiarray_that_is_gone\n")
    (tmp_path / "broken_binary.py").write_text("raise ImportError('numpy.core.multiarray failed to import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("broken_dep", "broken_binary"):
        sys.modules.pop(name, None)


def test_a_missing_package_is_not_installed():
    with pytest.raises(OptionalDependencyError, match=r"'nothere_pkg' package, which is not installed.*crystallize\[x\]") as caught:
        require("nothere_pkg.sub", feature="F", extra="x", package="nothere_pkg")
    assert caught.value.cause is None


@pytest.mark.parametrize(
    ("module", "cause"),
    [("broken_binary", "numpy.core.multiarray failed to import"), ("broken_dep", "multiarray_that_is_gone")],
)
def test_a_package_that_fails_to_import_says_why(packages, module, cause):
    with pytest.raises(OptionalDependencyError, match="installed but failed to import") as caught:
        require(module, feature="Result.to_parquet", extra="parquet")
    assert cause in str(caught.value) and "not installed" not in str(caught.value)
    assert "pip install --upgrade 'crystallize[parquet]'" in str(caught.value)
