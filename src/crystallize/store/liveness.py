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

    Uses ``os.kill(pid, 0)``; on Windows, where signal 0 is not a probe, it asks the
    kernel (:func:`_windows_pid_alive`). A zombie (a dead child not yet reaped by its
    parent) still counts as alive.
    """
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: exists, owned by someone else
        return True
    return True


_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_INVALID_PARAMETER = 87  # what OpenProcess says of a pid no process has
_STILL_ACTIVE = 259  # the exit code of a process that has not exited


def _windows_pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running, as Windows' kernel32 tells.

    A process that cannot be opened for another reason (access denied: another user's
    or a protected process) exists. A process that exited with code 259 looks alive;
    the heartbeat age catches it.
    """
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.argtypes = (ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)
    kernel32.OpenProcess.restype = ctypes.c_void_p  # a HANDLE; None when it fails
    kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
    kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return ctypes.get_last_error() != _ERROR_INVALID_PARAMETER  # type: ignore[attr-defined]
    try:
        code = ctypes.c_uint32()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def stop_hint(pid: int) -> str:
    """How to stop process ``pid`` on this platform, for messages: ``e.g. kill PID``, or
    on Windows ``End task in Task Manager, or taskkill /PID PID``."""
    if sys.platform == "win32":
        return f"End task in Task Manager, or taskkill /PID {pid}"
    return f"e.g. kill {pid}"


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


__all__ = ["hostname", "pid_alive", "stale_reason", "stop_hint"]
