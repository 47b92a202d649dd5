"""Files Crystallize writes atomically get the mode any new file gets (``0o666`` less the
umask), like ``crystallize.db``: teammates sharing a data directory can read artifacts."""

from __future__ import annotations

import os
import stat
import sys
import threading

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.store.artifacts import atomic_write_bytes

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process umask for one test, restored after it."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = atomic_write_bytes(tmp_path / "sub" / "file.bin", b"data")
    assert _mode(path) == expected
    plain = tmp_path / "plain.bin"  # what open() gives any other file
    plain.write_bytes(b"x")
    assert _mode(path) == _mode(plain)


def test_replacing_a_file_gives_the_new_one_the_same_mode(tmp_path, umask):
    umask(0o022)
    path = atomic_write_bytes(tmp_path / "file.bin", b"one")
    atomic_write_bytes(path, b"two", fsync=True)
    assert path.read_bytes() == b"two" and _mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]  # no temporary file left


def test_concurrent_writes_all_get_the_mode(tmp_path, umask):
    umask(0o022)
    errors: list[BaseException] = []

    def write(index):
        try:
            for round_ in range(20):
                atomic_write_bytes(tmp_path / f"f{index}.bin", str(round_).encode())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"f{i}.bin" for i in range(8))
    assert {_mode(p) for p in tmp_path.iterdir()} == {0o644}


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def save(data, ctx, out: Artifact):
    out.write(b"weights")
    return data, {"x": 1.0}


def test_artifacts_of_a_run_are_readable_like_the_store(tmp_path, umask):
    umask(0o022)
    experiment = Experiment(
        datasource=zero(), pipeline=Pipeline([save(out=Artifact("model.bin"))]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))], replicates=1, name="shared",
    )
    assert not experiment.run().errors
    artifact = tmp_path / "shared" / "v0" / "baseline" / "0" / "model.bin"
    assert artifact.read_bytes() == b"weights"
    assert _mode(artifact) == _mode(tmp_path / "crystallize.db") == 0o644


@pytest.mark.parametrize(("mask", "expected"), [(0o002, 0o664), (0o022, 0o644)])
def test_the_store_and_the_cache_index_follow_the_umask_too(tmp_path, umask, mask, expected):
    """A group-shared data directory (umask 002): teammates can write runs to the store."""
    umask(mask)

    @pipeline_step(cacheable=True)
    def cached(data, ctx):
        return data, {"x": 1.0}

    experiment = Experiment(
        datasource=zero(), pipeline=Pipeline([cached()]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))], replicates=1, name="shared",
    )
    assert not experiment.run().errors
    assert _mode(tmp_path / "crystallize.db") == expected
    [index] = (tmp_path / ".cache" / "_index").iterdir()
    assert _mode(index) == expected
