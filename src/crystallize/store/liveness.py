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


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` on this host started (seconds since the epoch), or ``None``
    when that cannot be told: no such process, one that has ended (a zombie), or a
    platform without ``/proc`` (only Linux's is read: the start in clock ticks since
    boot, plus the boot time)."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as file:
            stat = file.read()
        # The fields after the command (which may hold spaces and parentheses): the
        # state is the 1st, the start (the line's 22nd field) the 20th.
        fields = stat.rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):
            return None
        with open("/proc/stat", "rb") as file:
            boot = next(line for line in file if line.startswith(b"btime "))
        return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return None


def _is_driver(pid: int, heartbeat_at: float) -> bool | None:
    """Whether the live process ``pid`` on this host can be the driver whose last
    heartbeat is ``heartbeat_at``: a driver was alive when it wrote it, so ``False`` when
    the process started after it (the driver died and its pid was reused), ``None``
    when its start cannot be read."""
    started = process_start_time(pid)
    return None if started is None else started <= heartbeat_at


def stale_reason(pid: int, host: str, heartbeat_at: float, now: float, stale_after: float) -> str | None:
    """Why a run marked ``running`` has no live driver any more, or ``None`` if it may.

    On this host, ``pid`` decides: the run is dead when the process is gone
    (:func:`pid_alive`), and alive while it runs (even stopped with Ctrl+Z, its
    heartbeat as old as you like) if it started before its last heartbeat — the driver
    of a resumed run too, which started long after the run. Otherwise the heartbeat
    decides, as on other hosts: dead once it is older than ``stale_after`` seconds. That
    covers a process that reuses the pid of a driver that died, a platform where process
    start times cannot be read (:func:`process_start_time`), and this process itself,
    whose own runs the caller knows about (a stopped process heartbeats again, and
    revives its run, once continued).
    """
    if host == hostname():
        if not pid_alive(pid):
            return f"driver process {pid} on {host} ended without finishing the run"
        if pid != os.getpid() and _is_driver(pid, heartbeat_at):
            return None
    if now - heartbeat_at > stale_after:
        return f"no heartbeat from driver process {pid} on {host} for {now - heartbeat_at:.0f} s"
    return None


__all__ = ["hostname", "pid_alive", "process_start_time", "stale_reason", "stop_hint"]
