"""Ctrl+C, SIGTERM and SIGKILL sent to ``crystallize``: what is printed, the exit code,
what is stored, and that no process or thread outlives the command.

The subprocess tests send real signals, as a terminal (Ctrl+C reaches the whole process
group), ``kill``, ``timeout`` or ``docker stop`` would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_support import crystallize_command

from crystallize.cli.main import main
from crystallize.store import list_runs

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CONFIG = """\
name: {name}
replicates: {replicates}
datasource: numbers
steps:
  - {{nap: {{seconds: {pause}}}}}
plugins:
  execution: {execution}
"""

DATASOURCES = """\
from crystallize import data_source


@data_source
def numbers(ctx):
    return 1
"""

STEPS = """\
import time

from crystallize import pipeline_step


@pipeline_step()
def nap(data, ctx, *, seconds=0.0):
    time.sleep(seconds)
    return data, {"x": float(ctx["replicate"])}
"""

#: steps.py of an experiment whose process spends 1.5 s in an exit handler.
SLOW_EXIT_STEPS = STEPS + """
import atexit

atexit.register(time.sleep, 1.5)
"""


def write_experiment(
    root: Path, name: str, *, execution: str = "{strategy: serial}", replicates: int = 4,
    pause: float = 0.0, steps: str = STEPS,
) -> None:
    """Write ``experiments/<name>``: ``replicates`` replicates sleeping ``pause`` s each."""
    folder = root / "experiments" / name
    folder.mkdir(parents=True)
    config = CONFIG.format(name=name, replicates=replicates, pause=pause, execution=execution)
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    (folder / "datasources.py").write_text(DATASOURCES, encoding="utf-8")
    (folder / "steps.py").write_text(textwrap.dedent(steps), encoding="utf-8")


class Command:
    """``crystallize ARGS`` started in its own process group, output to files."""

    def __init__(self, root: Path, *args: str, stdin: int = subprocess.DEVNULL) -> None:
        self.out_path, self.err_path = root / "stdout.txt", root / "stderr.txt"
        env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": "", "PYTHONUNBUFFERED": "1"}
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [*crystallize_command(), *args], cwd=root, env=env, stdout=out, stderr=err,
                stdin=stdin, start_new_session=True,
            )

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Wait until ``text`` is printed (stdout or stderr)."""
        deadline = time.monotonic() + timeout
        while text not in self.stdout + self.stderr:
            assert self.proc.poll() is None, f"exited before printing {text!r}: {self.stderr}"
            assert time.monotonic() < deadline, f"{text!r} not printed: {self.stdout}{self.stderr}"
            time.sleep(0.01)

    def ctrl_c(self) -> None:
        """Ctrl+C at a terminal: SIGINT to the whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def live_processes(self) -> list[int]:
        """The processes of the command's group still running (zombies left aside)."""
        return live_group_members(self.proc.pid)

    def cleanup(self) -> None:
        """Kill whatever of the command's group is still alive (a failed test's leftovers)."""
        for pid in self.live_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def live_group_members(pgid: int) -> list[int]:
    """Ids of the live (not zombie) processes in process group ``pgid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def wait_until_gone(command: Command, timeout: float) -> list[int]:
    """Wait up to ``timeout`` s for the command's processes to end; return those left."""
    deadline = time.monotonic() + timeout
    while (left := command.live_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def command(tmp_path: Path):
    started: list[Command] = []

    def start(*args: str, stdin: int = subprocess.DEVNULL) -> Command:
        started.append(Command(tmp_path, *args, stdin=stdin))
        return started[-1]

    yield start
    for each in started:
        each.cleanup()


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")

PROCESS_POOL = "{strategy: process, workers: 2}"


@needs_proc
def test_sigterm_stops_a_process_pool_run_like_ctrl_c(tmp_path, command):
    write_experiment(tmp_path, "pool", execution=PROCESS_POOL, replicates=60, pause=0.1)
    run = command("run", "pool")
    run.wait_for("running")
    time.sleep(1.0)
    run.proc.send_signal(signal.SIGTERM)  # to the command only, as kill, timeout or docker stop do

    assert run.wait() == 143, run.stderr
    assert "Interrupted" in run.stderr
    assert "crystallize run pool --strategy resume" in run.stderr
    assert "Traceback" not in run.stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["cancelled"]
    assert wait_until_gone(run, 3.0) == []


@needs_proc
def test_workers_of_a_killed_run_exit_with_it(tmp_path, command):
    write_experiment(tmp_path, "pool", execution=PROCESS_POOL, replicates=60, pause=0.1)
    run = command("run", "pool")  # with live events: a Manager process too
    run.wait_for("running")
    time.sleep(1.0)
    assert len(run.live_processes()) >= 3  # the command, its Manager and 2 pool workers
    run.proc.send_signal(signal.SIGKILL)
    run.wait()

    assert wait_until_gone(run, 3.0) == []


def test_ctrl_c_in_a_thread_pool_run_returns_at_once(tmp_path, command):
    write_experiment(tmp_path, "threads", execution="{strategy: thread, workers: 2}", replicates=4, pause=4.0)
    run = command("run", "threads")
    run.wait_for("running")
    time.sleep(0.5)
    run.ctrl_c()
    signalled = time.monotonic()
    time.sleep(0.3)
    run.ctrl_c()  # a second Ctrl+C, while it stops

    code = run.wait()
    assert time.monotonic() - signalled < 2.5  # not after the replicates in flight (4 s)
    assert code == 130, run.stderr
    assert "crystallize run threads --strategy resume" in run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["cancelled"]


def test_second_ctrl_c_while_an_interrupted_run_exits_prints_no_traceback(tmp_path, command):
    write_experiment(tmp_path, "slow_exit", replicates=40, pause=0.1, steps=SLOW_EXIT_STEPS)
    run = command("run", "slow_exit")
    run.wait_for("running")
    time.sleep(0.3)
    run.ctrl_c()
    run.wait_for("Interrupted")
    time.sleep(0.3)
    run.ctrl_c()  # while the exit handlers run

    assert run.wait() == 130, run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["cancelled"]


def test_ctrl_c_after_the_command_finished_is_ignored(tmp_path, command):
    write_experiment(tmp_path, "slow_exit", replicates=2, steps=SLOW_EXIT_STEPS)
    run = command("run", "slow_exit")
    run.wait_for("stored in")  # the summary line: the command is done, the process exits
    time.sleep(0.3)
    run.ctrl_c()

    assert run.wait() == 0, run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr
    assert [r.status for r in list_runs(tmp_path / "data")] == ["completed"]


# In-process: Ctrl+C at chosen moments (the signal or its KeyboardInterrupt), checking
# that the message says what state the command left things in.


def _run_once(tmp_path: Path) -> None:
    write_experiment(tmp_path, "numbers", replicates=2)
    assert main(["run", "numbers"]) == 0


def _ctrl_c_now() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_while_the_results_print_says_the_run_is_stored(tmp_path, monkeypatch, capsys):
    write_experiment(tmp_path, "numbers", replicates=2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("crystallize.cli.run.print_reports", interrupted)
    assert main(["run", "numbers"]) == 130
    (run,) = list_runs(tmp_path / "data")
    assert run.status == "completed"
    err = capsys.readouterr().err
    assert f"is stored as completed: see it with: crystallize show numbers --run {run.run_id}" in err


def test_ctrl_c_during_compaction_says_it_finished(tmp_path, monkeypatch, capsys):
    from crystallize import store

    _run_once(tmp_path)
    real = store.compact

    def compact_then_ctrl_c(root):  # Ctrl+C while SQLite rewrites the file
        freed = real(root)
        _ctrl_c_now()
        return freed

    monkeypatch.setattr(store, "compact", compact_then_ctrl_c)
    capsys.readouterr()
    assert main(["compact", "numbers"]) == 130
    out, err = capsys.readouterr()
    assert "Compacted " in out
    assert err.strip() == "Interrupted, but only after the store was compacted (a compaction cannot stop halfway)."


def test_ctrl_c_before_the_deletion_commits_says_nothing_was_deleted(tmp_path, monkeypatch, capsys):
    from crystallize import store

    _run_once(tmp_path)
    real = store.delete_runs

    def delete_then_ctrl_c(*args, dry_run=False, **kwargs):
        if dry_run:
            return real(*args, dry_run=True, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "delete_runs", delete_then_ctrl_c)
    capsys.readouterr()
    assert main(["delete", "numbers", "--keep", "0", "--yes"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "Interrupted while deleting; nothing was deleted."
    assert len(list_runs(tmp_path / "data")) == 1


def test_ctrl_c_at_the_delete_question_deletes_nothing(tmp_path, command):
    _run_once(tmp_path)
    delete = command("delete", "numbers", "--keep", "0", stdin=subprocess.PIPE)  # nobody answers
    delete.wait_for("[y/N]")
    delete.ctrl_c()

    assert delete.wait() == 130, delete.stderr
    assert delete.stderr.strip() == "Interrupted; nothing was deleted."
    assert len(list_runs(tmp_path / "data")) == 1


def test_ctrl_c_while_the_report_file_is_written_says_it_was(tmp_path, monkeypatch, capsys):
    from crystallize.cli import paths

    _run_once(tmp_path)
    real = paths.write_report_file

    def write_then_ctrl_c(path, html):
        real(path, html)
        _ctrl_c_now()

    monkeypatch.setattr(paths, "write_report_file", write_then_ctrl_c)
    capsys.readouterr()
    assert main(["report", "numbers", "-o", "r.html"]) == 130
    out, err = capsys.readouterr()
    assert "Wrote the report" in out
    assert err.strip() == "Interrupted, but only after the report was written."
    assert (tmp_path / "r.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_ctrl_c_in_show_says_nothing_changed(tmp_path, monkeypatch, capsys):
    _run_once(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("crystallize.store.load_result", interrupted)
    capsys.readouterr()
    assert main(["show", "numbers"]) == 130
    assert capsys.readouterr().err.strip() == "Interrupted; nothing was changed."


def test_ctrl_c_while_the_command_starts_prints_no_traceback(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt  # as Ctrl+C while typer and the commands are imported

    monkeypatch.setattr("crystallize.cli.app.build_app", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err.strip() == "Interrupted."


def test_ctrl_c_while_typer_parses_is_reported(monkeypatch, capsys):
    import functools

    from crystallize.cli import app

    @functools.wraps(app._root)  # the same options
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # outside the command: typer turns it into a silent exit 130

    monkeypatch.setattr(app, "_root", interrupted)
    assert main(["list"]) == 130
    assert capsys.readouterr().err.strip() == "Interrupted."


def test_handlers_are_restored_after_an_in_process_call(tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    _run_once(tmp_path)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
