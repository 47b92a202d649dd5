"""Is a run's driver still alive? Process and host identity for stale-run detection."""

from __future__ import annotations

import os
import socket
import sys
from functools import cache


@cache
def hostname() -> str:
    """This machine's host name (looked up once)."""
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Return False only when process ``pid`` certainly does not exist on this host.

    Uses ``os.kill(pid, 0)``. On Windows (where signal 0 is not a probe) it always
    returns True and stale runs are found by heartbeat age alone. A zombie (a dead
    child not yet reaped by its parent) still counts as alive.
    """
    if pid == os.getpid():
        return True
    if pid <= 0 or sys.platform == "win32":
        return pid > 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: exists, owned by someone else
        return True
    return True


def stale_reason(pid: int, host: str, heartbeat_at: float, now: float, stale_after: float) -> str | None:
    """Why a run marked ``running`` has no live driver any more, or ``None`` if it may.

    Dead when its host is this host and ``pid`` is gone (:func:`pid_alive`), or when its
    last heartbeat is older than ``stale_after`` seconds (any host).
    """
    if host == hostname() and not pid_alive(pid):
        return f"driver process {pid} on {host} ended without finishing the run"
    if now - heartbeat_at > stale_after:
        return f"no heartbeat from driver process {pid} on {host} for {now - heartbeat_at:.0f} s"
    return None


__all__ = ["hostname", "pid_alive", "stale_reason"]
