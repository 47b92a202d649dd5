"""Stale-run detection on Windows (emulated: there is no Windows here): ``pid_alive``
asks the kernel about the process instead of trusting the heartbeat alone, and
messages say how to stop a process the Windows way."""

from __future__ import annotations

import ctypes
import os

import pytest

from crystallize.store import liveness
from crystallize.store.base import RunInfo

STILL_ACTIVE = 259
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
ERROR_INVALID_PARAMETER = 87
ERROR_ACCESS_DENIED = 5
HANDLE = 1234


class FakeKernel32:
    """What ``kernel32`` answers about one process, and the calls it was given."""

    def __init__(self, *, opens: bool, error: int = 0, exit_code: int = STILL_ACTIVE) -> None:
        self.opens, self.error, self.exit_code = opens, error, exit_code
        self.calls: list[tuple] = []
        self.last_error = 0
        self.OpenProcess = self._function(self._open)
        self.GetExitCodeProcess = self._function(self._exit_code)
        self.CloseHandle = self._function(self._close)

    @staticmethod
    def _function(body):
        def function(*args):
            return body(*args)

        return function

    def _open(self, access, inherit, pid):
        self.calls.append(("OpenProcess", access, bool(inherit), pid))
        self.last_error = 0 if self.opens else self.error
        return HANDLE if self.opens else None

    def _exit_code(self, handle, code_ref):
        self.calls.append(("GetExitCodeProcess", handle))
        code_ref._obj.value = self.exit_code
        return 1

    def _close(self, handle):
        self.calls.append(("CloseHandle", handle))
        return 1


@pytest.fixture
def windows(monkeypatch):
    """Make ``liveness`` believe it runs on Windows; returns a setter for kernel32's answers."""
    monkeypatch.setattr(liveness.sys, "platform", "win32")

    def answer(**behaviour) -> FakeKernel32:
        kernel32 = FakeKernel32(**behaviour)
        loaded: list[tuple] = []

        def win_dll(name, use_last_error=False):
            loaded.append((name, use_last_error))
            return kernel32

        monkeypatch.setattr(ctypes, "WinDLL", win_dll, raising=False)
        monkeypatch.setattr(ctypes, "get_last_error", lambda: kernel32.last_error, raising=False)
        kernel32.loaded = loaded
        return kernel32

    return answer


def test_a_running_process_is_alive_and_its_handle_closed(windows):
    kernel32 = windows(opens=True, exit_code=STILL_ACTIVE)
    assert liveness.pid_alive(4321) is True
    assert kernel32.calls == [
        ("OpenProcess", PROCESS_QUERY_LIMITED_INFORMATION, False, 4321),
        ("GetExitCodeProcess", HANDLE),
        ("CloseHandle", HANDLE),
    ]
    assert kernel32.loaded == [("kernel32", True)]  # GetLastError read reliably
    assert kernel32.OpenProcess.restype is ctypes.c_void_p  # a HANDLE is pointer-sized


def test_a_process_that_exited_is_dead(windows):
    kernel32 = windows(opens=True, exit_code=1)  # killed: End task exits with code 1
    assert liveness.pid_alive(4321) is False
    assert kernel32.calls[-1] == ("CloseHandle", HANDLE)


def test_no_such_pid_is_dead(windows):
    kernel32 = windows(opens=False, error=ERROR_INVALID_PARAMETER)
    assert liveness.pid_alive(4321) is False
    assert kernel32.calls == [("OpenProcess", PROCESS_QUERY_LIMITED_INFORMATION, False, 4321)]


def test_a_process_we_may_not_open_exists(windows):
    kernel32 = windows(opens=False, error=ERROR_ACCESS_DENIED)
    assert liveness.pid_alive(4321) is True
    assert kernel32.calls == [("OpenProcess", PROCESS_QUERY_LIMITED_INFORMATION, False, 4321)]


def test_this_process_and_bad_pids_need_no_kernel_call(windows):
    kernel32 = windows(opens=False, error=ERROR_INVALID_PARAMETER)
    assert liveness.pid_alive(os.getpid()) is True
    assert liveness.pid_alive(0) is False and liveness.pid_alive(-3) is False
    assert kernel32.calls == []


def test_a_dead_driver_on_this_host_is_stale_at_once_on_windows(windows):
    windows(opens=False, error=ERROR_INVALID_PARAMETER)
    now = 1000.0
    reason = liveness.stale_reason(4321, liveness.hostname(), heartbeat_at=now - 2, now=now, stale_after=120)
    assert reason == f"driver process 4321 on {liveness.hostname()} ended without finishing the run"


def _run_info() -> RunInfo:
    return RunInfo(
        run_id="abc123def456", experiment="smooth", fingerprint="f", spec={}, status="running",
        replicates=3, conditions=("baseline",), base_seed=1, started_at=0.0, ended_at=None,
        heartbeat_at=0.0, pid=4321, hostname="host", summary=None, warnings=(), parent_run=None,
        n_records=0,
    )


def test_stop_hint_is_kill_on_posix(monkeypatch):
    monkeypatch.setattr(liveness.sys, "platform", "linux")
    assert liveness.stop_hint(4321) == "e.g. kill 4321"


def test_stop_hint_on_windows_names_task_manager_and_taskkill(monkeypatch):
    monkeypatch.setattr(liveness.sys, "platform", "win32")
    hint = liveness.stop_hint(4321)
    assert "kill 4321" not in hint.replace("taskkill", "")
    assert hint == "End task in Task Manager, or taskkill /PID 4321"


def test_the_cli_refusal_to_resume_says_how_to_stop_the_process_on_windows(monkeypatch):
    from crystallize.cli.run import resume_refused
    from crystallize.store import RunInProgressError

    monkeypatch.setattr(liveness.sys, "platform", "win32")
    message = str(resume_refused(RunInProgressError(_run_info(), 3.0)))
    assert "stop that process (End task in Task Manager, or taskkill /PID 4321)" in message
    assert "e.g. kill" not in message


def test_the_library_refusal_names_the_windows_way_to_stop_a_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    from crystallize.store.base import RunInProgressError

    monkeypatch.setattr(liveness.sys, "platform", "win32")
    message = str(RunInProgressError(_run_info(), 3.0))
    assert "taskkill /PID 4321" in message
    assert "e.g. kill" not in message
