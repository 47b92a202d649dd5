"""Spec fingerprints: what an experiment's results depend on, hashed.

A run is resumed only when its fingerprint matches, so anything that can change results
is part of the spec: the datasource and every step (their names, parameters and source
code), the treatments, the initial context and the seed settings. The number of
replicates is not: resuming with more replicates runs just the missing ones.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import linecache
import os
import sys
import weakref
from typing import TYPE_CHECKING, Any

from crystallize.plugins.seed import SeedPlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


#: ``{code target: (file signature, code digest)}``; a digest is reused while the file
#: it came from keeps its size and modification time (``inspect.getsource`` is slow).
_DIGESTS: weakref.WeakKeyDictionary[Any, tuple[tuple[str, int, int], str]] = weakref.WeakKeyDictionary()


def _code_target(obj: Any) -> Any:
    target = getattr(obj, "fn", None) or obj
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        target = type(target)
    return target


def source_of(obj: Any) -> str:
    """The source code behind a step, datasource or callable (its repr when unavailable)."""
    target = _code_target(obj)
    try:
        filename = inspect.getsourcefile(target)
        if filename:
            linecache.checkcache(filename)  # read what is on disk now, not a stale copy
        return inspect.getsource(target)
    except (OSError, TypeError):
        return f"<no source: {getattr(target, '__qualname__', repr(target))}>"


def _signature_of(filename: str | None) -> tuple[str, int, int] | None:
    """``(path, size, mtime)`` of ``filename``, or ``None`` when it cannot be read."""
    if not filename:
        return None
    try:
        stat = os.stat(filename)
    except OSError:
        return None
    return (filename, stat.st_size, stat.st_mtime_ns)


def _file_signature(target: Any) -> tuple[str, int, int] | None:
    """``(path, size, mtime)`` of the file defining ``target``, or ``None`` when unknown."""
    code = getattr(inspect.unwrap(target) if callable(target) else target, "__code__", None)
    filename = code.co_filename if code is not None else None
    if filename is None:
        module = sys.modules.get(getattr(target, "__module__", None) or "")
        filename = getattr(module, "__file__", None)
    return _signature_of(filename)


def code_hash(obj: Any) -> str:
    """A short digest of :func:`source_of` (remembered until the source file changes)."""
    target = _code_target(obj)
    try:
        cached = _DIGESTS.get(target)
    except TypeError:  # not weak-referenceable: nothing to remember it by
        return hashlib.blake2b(source_of(obj).encode(), digest_size=8).hexdigest()
    if cached is not None:  # the file is known: one stat tells whether it changed
        signature = _signature_of(cached[0][0])
        if signature == cached[0]:
            return cached[1]
    else:
        signature = _file_signature(target)
    digest = hashlib.blake2b(source_of(obj).encode(), digest_size=8).hexdigest()
    if signature is not None:
        _DIGESTS[target] = (signature, digest)
    return digest


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    spec = getattr(value, "_crystallize_spec", None)
    if spec is not None:  # e.g. a resource_factory: its identity, not its repr
        return spec()
    if callable(value):
        return {"callable": getattr(value, "__qualname__", repr(value)), "code": code_hash(value)}
    return repr(value)


def spec_of(experiment: Experiment) -> dict[str, Any]:
    """The parts of ``experiment`` that determine its results, as plain data."""
    seed = experiment.get_plugin(SeedPlugin)
    steps = experiment.pipeline.steps if experiment.pipeline is not None else []
    datasource = experiment.datasource
    return {
        "datasource": _component(datasource),
        "steps": [_component(step) for step in steps],
        "treatments": {t.name: _treatment_spec(t, steps) for t in experiment.treatments},
        "initial_ctx": _plain(experiment.initial_ctx),
        "seed": None
        if seed is None
        else {
            "seed": seed.seed,
            "auto_seed": seed.auto_seed,
            "seed_fn": _plain(seed.seed_fn) if seed.seed_fn else None,
        },
    }


def _component(obj: Any) -> dict[str, Any]:
    return {
        "name": getattr(obj, "name", type(obj).__name__),
        "params": _plain(dict(getattr(obj, "params", {}) or {})),
        "code": code_hash(obj),
    }


def _treatment_spec(treatment: Any, base_steps: list[Any]) -> Any:
    if not treatment.reshapes:
        return _plain(treatment.values)
    return {
        "values": _plain(treatment.values),
        "datasource": _component(treatment.datasource) if treatment.datasource is not None else None,
        "steps": [_component(step) for step in treatment.resolve_steps(base_steps)],
    }


def fingerprint(spec: dict[str, Any]) -> str:
    """A stable digest of a spec from :func:`spec_of`."""
    text = json.dumps(spec, sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def spec_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable names of the spec parts that differ (``steps[1].code``, ``seed``...)."""
    differences: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]")
        else:
            differences.append(path or "spec")

    walk(old, new, "")
    return differences


__all__ = ["code_hash", "fingerprint", "source_of", "spec_differences", "spec_of"]
