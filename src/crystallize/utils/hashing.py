"""Content hashes for provenance and cache keys."""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

_DIGEST_SIZE = 16  # 32 hex characters


def content_hash(obj: Any) -> str | None:
    """Return a hex digest of ``obj``'s pickled content, or ``None`` if it cannot be pickled.

    Equal values built the same way hash equal across processes and runs (pickle is
    deterministic for the same object graph). Used for step input/output provenance.
    """
    try:
        payload = pickle.dumps(obj, protocol=5)
    except Exception:
        return None
    return hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).hexdigest()


__all__ = ["content_hash"]
