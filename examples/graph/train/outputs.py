"""How the `model` output is encoded: JSON."""

from __future__ import annotations

import json
from typing import Any


def dump_json(value: Any) -> bytes:
    """Encode ``value`` as UTF-8 JSON."""
    return json.dumps(value, sort_keys=True).encode("utf-8")


def load_json(data: bytes) -> Any:
    """Decode UTF-8 JSON (used by experiments reading the output, too)."""
    return json.loads(data.decode("utf-8"))
