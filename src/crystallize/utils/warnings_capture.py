"""``warnings.catch_warnings`` that is safe between Crystallize's own threads.

``warnings.catch_warnings`` saves ``warnings.filters`` and ``warnings.showwarning`` on
entry and puts them back on exit: they are process-wide, so two blocks overlapping in two
threads restore each other's state in the wrong order, and the process is left with the
filters of one block and ``showwarning`` appending to a list nobody reads (every later
warning lost). Every ``catch_warnings`` block of Crystallize's runs goes through
:func:`catch_warnings` here, which holds one module-level lock for the block, so they never
interleave (two runs verifying hypotheses in two threads take turns for the statistics).

Limit: the lock cannot cover blocks entered by other code (a library, the user's steps)
running in another thread at the same time; those can still interleave with ours. A
warning another thread raises while one of our blocks is open is caught by that block
(recorded, or ignored), since the filters are process-wide for that moment.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

# Re-entrant: a block may run code that opens another (a verifier calling a helper that
# collects warnings too); catch_warnings nests correctly within one thread.
_LOCK = threading.RLock()


@contextlib.contextmanager
def catch_warnings(**kwargs: Any) -> Iterator[list[warnings.WarningMessage] | None]:
    """``warnings.catch_warnings(**kwargs)``, holding the lock shared by all of
    Crystallize's blocks for as long as the block runs."""
    with _LOCK, warnings.catch_warnings(**kwargs) as caught:
        yield caught


__all__ = ["catch_warnings"]
