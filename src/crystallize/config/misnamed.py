"""Why a name config.yaml gives is not the factory it should be: an undecorated function,
another kind of factory, an object already made, a factory in the wrong file. The
builder's "no step named ..." errors say this instead of suggesting a typo.
"""

from __future__ import annotations

import functools
import types
from typing import Any

from crystallize.datasource import DataSource, FunctionDataSource
from crystallize.hypothesis import Verifier
from crystallize.pipeline_step import FunctionStep, PipelineStep

#: Per kind of factory a config names: (what one is, the decorator making a function one).
KINDS: dict[str, tuple[str, str]] = {
    "step": ("a @pipeline_step() function or a PipelineStep subclass", "@pipeline_step() (from crystallize import pipeline_step)"),
    "datasource": ("a @data_source function or a DataSource subclass", "@data_source (from crystallize import data_source)"),
    "verifier": ("a @verifier function", "@verifier (from crystallize import verifier)"),
}
#: (kind, attribute the decorator sets on its factory, decorator).
_MARKERS = (
    ("step", "__crystallize_step__", "@pipeline_step"),
    ("datasource", "__crystallize_datasource__", "@data_source"),
    ("verifier", "__crystallize_verifier__", "@verifier"),
)
#: What a plain function looks like (user code, imports, partials).
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)


def _factory_kind(value: Any) -> tuple[str, str] | None:
    """``(kind, how it was made)`` of a Crystallize factory, ``("datasource", "@data_source")``
    or ``("step", "a PipelineStep subclass")``; ``None`` for anything else."""
    for kind, marker, decorator in _MARKERS:
        if getattr(value, marker, None) is not None:
            return kind, decorator
    if isinstance(value, type) and value not in (PipelineStep, FunctionStep, DataSource, FunctionDataSource):
        for kind, base in (("step", PipelineStep), ("datasource", DataSource)):
            if issubclass(value, base):
                return kind, f"a {base.__name__} subclass"
    return None


def _built_kind(value: Any) -> str | None:
    """The kind of an object a factory already made (a step, datasource or verifier), else ``None``."""
    for kind, base in (("step", PipelineStep), ("datasource", DataSource), ("verifier", Verifier)):
        if isinstance(value, base):
            return kind
    return None


def misnamed(name: str, value: Any, kind: str, file: str) -> str | None:
    """Why ``value``, the attribute ``name`` of ``file``, is not a ``kind`` factory the
    config can name (``None`` when it is not callable nor any Crystallize object)."""
    what, decorator = KINDS[kind]
    found = _factory_kind(value)
    if found is not None:
        other, how = found
        if other != kind:
            return f"'{name}' in {file} is a {other} ({how}), not a {kind}"
        if name.startswith("_"):  # the lookup skips private names
            return f"'{name}' in {file} is a {kind}, but names starting with '_' are private to {file} and not looked up: rename it"
        return None
    made = _built_kind(value)
    if made == kind:
        return (
            f"'{name}' in {file} is a {kind} already made (a {type(value).__name__}), not a {kind} "
            "factory: name the factory and give its parameters in config.yaml"
        )
    if made is not None:
        return f"'{name}' in {file} is a {made} (a {type(value).__name__}), not a {kind}"
    if isinstance(value, type):
        return f"'{name}' in {file} is a class, not a {kind}: a {kind} is {what}"
    if isinstance(value, _FUNCTIONS):
        return f"'{name}' in {file} is a plain function, not a {kind}: decorate it with {decorator}"
    if callable(value):
        return f"'{name}' in {file} is a {type(value).__name__} object, not a {kind}: a {kind} is {what}"
    return None


def elsewhere(name: str, module: types.ModuleType | None, kind: str, file: str, other_file: str) -> str | None:
    """What ``name`` is in ``other_file`` (``module``) when it is a Crystallize factory
    there, for a ``kind`` looked up in ``file`` only; else ``None``."""
    if module is None or name.startswith("_"):
        return None
    found = _factory_kind(getattr(module, name, None))
    if found is None:
        return None
    other, how = found
    if other == kind:
        return f"'{name}' in {other_file} is a {kind}, but {kind}s are looked up in {file} only: move it there"
    return f"'{name}' in {other_file} is a {other} ({how}), not a {kind}"


__all__ = ["KINDS", "elsewhere", "misnamed"]
