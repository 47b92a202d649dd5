"""Code digests: remembered while the source file is unchanged, recomputed after an edit."""

from __future__ import annotations

import importlib.util
import inspect
import os

from crystallize import fingerprint


def _load(path):
    spec = importlib.util.spec_from_file_location("digest_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_code_hash_describes_the_loaded_code_until_it_is_reloaded(tmp_path, monkeypatch):
    path = tmp_path / "digest_module.py"
    path.write_text("def step(data):\n    return data + 1\n")
    step = _load(path).step
    first = fingerprint.code_hash(step)

    calls = []
    real = inspect.getsource
    monkeypatch.setattr(inspect, "getsource", lambda obj: calls.append(obj) or real(obj))
    assert fingerprint.code_hash(step) == first
    assert calls == []  # answered from memory

    path.write_text("def step(data):\n    return data + 100\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert fingerprint.code_hash(step) == first  # the loaded step still adds 1
    assert calls == []
    reloaded = _load(path).step
    assert reloaded(1) == 101
    assert fingerprint.code_hash(reloaded) != first  # the new code, digested afresh
    assert calls


def test_code_hash_without_a_source_file_still_works():
    namespace: dict = {}
    exec("def made_up(data):\n    return data\n", namespace)
    digest = fingerprint.code_hash(namespace["made_up"])
    assert digest == fingerprint.code_hash(namespace["made_up"])
    assert len(digest) == 16
