"""A write killed midway (SIGKILL while a large artifact or cache entry is written) leaves
its hidden temporary file; ``compact`` removes it once its writer is gone, and never one
that a live process is writing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from crystallize.store import compact, open_store
from crystallize.store.artifacts import atomic_write_bytes

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

#: Writes argv[1] with atomic_write_bytes and dies (SIGKILL) before moving it into place.
KILLED_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from crystallize.store import artifacts

    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    artifacts.os.replace = die
    artifacts.atomic_write_bytes(sys.argv[1], b"x" * 100_000)
    """
)

#: Puts a cache entry under argv[1] and dies before moving it into place.
KILLED_CACHE_PUT = textwrap.dedent(
    """
    import os, signal, sys
    from crystallize.store import artifacts
    from crystallize.store.cache import StepCache

    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    artifacts.os.replace = die
    StepCache(sys.argv[1]).put("ab" * 16, b"x" * 100_000)
    """
)

#: Writes argv[1] in two chunks, waiting between them until stdin closes.
PAUSED_WRITE = textwrap.dedent(
    """
    import sys
    from crystallize.store import artifacts

    class Chunks:
        def __len__(self):
            return 2

        def __getitem__(self, index):
            if index == 1:
                print("writing", flush=True)
                sys.stdin.read()
            if index >= 2:
                raise IndexError(index)
            return b"x" * 1000

    artifacts.atomic_write_bytes(sys.argv[1], Chunks())
    """
)


def _temps(root):
    return sorted(p for p in root.rglob(".*.tmp") if p.is_file())


def _store(root):
    open_store(root).close()


def _make_old(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_compact_removes_the_temporary_file_of_a_killed_artifact_write(tmp_path):
    root = tmp_path / "data"
    _store(root)
    target = root / "study" / "v1" / "baseline" / "0" / "model.bin"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], timeout=120)
    assert done.returncode == -9
    [temp] = _temps(root)
    assert temp.parent == target.parent and temp.stat().st_size == 100_000
    assert compact(root) >= 100_000  # counted in what compact gives back
    assert _temps(root) == [] and not target.exists()


def test_compact_removes_the_temporary_file_of_a_killed_cache_write(tmp_path):
    root = tmp_path / "data"
    _store(root)
    done = subprocess.run([sys.executable, "-c", KILLED_CACHE_PUT, str(root)], timeout=120)
    assert done.returncode == -9
    [temp] = _temps(root)
    assert temp.parent.parent == root / ".cache"
    compact(root)
    assert _temps(root) == []


def test_a_temporary_file_another_process_is_writing_is_kept(tmp_path):
    root = tmp_path / "data"
    _store(root)
    target = root / "study" / "v1" / "baseline" / "0" / "model.bin"
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITE, str(target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        from crystallize.store.artifacts import remove_stale_temp_files

        [temp] = _temps(root)
        compact(root)
        assert remove_stale_temp_files(root, max_age=0) == ((), 0)  # however old: its writer lives
        assert _temps(root) == [temp]
        writer.stdin.close()
        assert writer.wait(timeout=120) == 0
        assert target.read_bytes() == b"x" * 2000 and _temps(root) == []
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def test_a_temporary_file_this_process_is_writing_is_kept(tmp_path):
    root = tmp_path / "data"
    _store(root)
    target = root / "study" / "v1" / "baseline" / "0" / "model.bin"
    started, release = threading.Event(), threading.Event()

    class Chunks:
        def __len__(self):
            return 2

        def __getitem__(self, index):
            if index == 1:
                started.set()
                release.wait(60)
            if index >= 2:
                raise IndexError(index)
            return b"y" * 10

    writer = threading.Thread(target=atomic_write_bytes, args=(target, Chunks()))
    writer.start()
    try:
        assert started.wait(60)
        [temp] = _temps(root)
        compact(root)
        assert _temps(root) == [temp]
    finally:
        release.set()
        writer.join(60)
    assert target.read_bytes() == b"y" * 20


def test_the_temporary_file_names_its_writer(tmp_path):
    import socket

    root = tmp_path / "data"
    target = root / "a" / "model.bin"
    seen = []
    real_replace = os.replace

    def spy(source, destination):
        seen.append(os.path.basename(source))
        real_replace(source, destination)

    from crystallize.store import artifacts

    artifacts.os.replace, saved = spy, artifacts.os.replace
    try:
        atomic_write_bytes(target, b"z")
    finally:
        artifacts.os.replace = saved
    [name] = seen
    assert name.startswith(".model.bin.") and name.endswith(".tmp")
    assert f".{os.getpid()}-" in name
    assert artifacts.temp_file_writer(name) == (os.getpid(), artifacts.host_tag(socket.gethostname()))


def test_a_dead_writer_s_pid_reused_by_a_newer_process_does_not_keep_the_file(tmp_path):
    """A process that started after the file was last written cannot be its writer: the
    file goes once old, as one whose writer cannot be asked."""
    from crystallize.store.artifacts import host_tag, remove_stale_temp_files
    from crystallize.store.liveness import hostname, process_start_time

    if process_start_time(os.getpid()) is None:
        pytest.skip("process start times cannot be read here")
    newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = tmp_path / "data" / "study" / "v1" / "baseline" / "0"
        folder.mkdir(parents=True)
        temp = folder / f".model.bin.0123abcd.{newcomer.pid}-{host_tag(hostname())}.tmp"
        temp.write_bytes(b"partial")
        _make_old(temp, 600)
        assert remove_stale_temp_files(tmp_path / "data", max_age=60) == ((temp,), len(b"partial"))
    finally:
        newcomer.kill()
        newcomer.wait()


def test_temporary_files_of_unknown_writers_go_once_old(tmp_path):
    """Files of an earlier Crystallize (no writer in the name), or of another host, whose
    writer cannot be asked: removed once unchanged for a day."""
    from crystallize.store.artifacts import remove_stale_temp_files

    folder = tmp_path / "data" / ".cache" / "ab"
    folder.mkdir(parents=True)
    old_format = folder / ".abab.pkl.0123abcd.tmp"
    elsewhere = folder / ".abab.pkl.89abcdef.4242-00000000.tmp"
    for temp in (old_format, elsewhere):
        temp.write_bytes(b"partial")
    assert remove_stale_temp_files(tmp_path / "data") == ((), 0)
    for temp in (old_format, elsewhere):
        _make_old(temp, 2 * 86400)
    removed, size = remove_stale_temp_files(tmp_path / "data")
    assert sorted(removed) == sorted([old_format, elsewhere]) and size == 2 * len(b"partial")


def test_files_that_are_not_temporary_files_are_left_alone(tmp_path):
    from crystallize.store.artifacts import remove_stale_temp_files

    folder = tmp_path / "data" / "study" / "v1" / "baseline" / "0"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "data" / "notes"  # not a folder Crystallize writes to
    elsewhere.mkdir()
    mine = [
        folder / ".notes.tmp", folder / "model.0123abcd.tmp", folder / ".x.0123abcd.1-00000000.tmp.bak",
        elsewhere / ".x.0123abcd.tmp", tmp_path / "data" / "study" / ".x.0123abcd.tmp",
    ]
    for path in mine:
        path.write_text("user's")
        _make_old(path, 2 * 86400)
    assert remove_stale_temp_files(tmp_path / "data") == ((), 0)
    assert all(path.exists() for path in mine)


def test_names_of_255_bytes_still_fit_with_the_writer_in_the_temporary_name(tmp_path):
    target = tmp_path / ("n" * 255)
    atomic_write_bytes(target, b"ok")
    assert target.read_bytes() == b"ok"
