"""The README's quick start and the getting-started guide run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/getting-started.md"])
def test_code_blocks_run_in_order(doc, capsys):
    namespace: dict = {}
    blocks = python_blocks(ROOT / doc)
    assert blocks
    for block in blocks:
        exec(compile(block, doc, "exec"), namespace)
    assert "baseline" in capsys.readouterr().out
