"""The Python snippets in docs/statistics.md run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "statistics.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if DOC.exists() else []


@pytest.mark.skipif(not DOC.exists(), reason="docs/statistics.md not present")
@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(SNIPPETS[index], f"statistics.md snippet {index}", "exec"), {})


def test_documented_outputs() -> None:
    from crystallize.stats import adjust_p_values, replicates_needed

    assert adjust_p_values([0.01, 0.04, 0.03], "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert replicates_needed(0.8) == 26
