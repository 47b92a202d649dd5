"""Per-experiment switches kept beside the config, in ``config.state.json``.

The file is written by tools (the CLI) rather than by hand::

    {
      "disabled_treatments": ["slow_variant"],
      "cache": {"train": true, "evaluate": false},
      "cache_all": null
    }

* ``disabled_treatments``: treatments left out of the built experiment.
* ``cache``: ``{step name: bool}`` sets ``step.cacheable`` for every step of that name.
* ``cache_all``: when ``true`` or ``false``, the default for every step not named in
  ``cache``; ``null`` keeps each step's own setting.

A missing file means "no switches". Names that no longer exist in the config are
ignored with a warning on the ``crystallize.config`` logger.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crystallize.config.errors import ConfigValidationError, Problem

STATE_FILE = "config.state.json"
logger = logging.getLogger("crystallize.config")


@dataclass
class ExperimentState:
    """The switches of ``config.state.json``.

    Attributes:
        disabled_treatments: names of treatments to leave out.
        cache: ``{step name: cacheable}`` overrides.
        cache_all: default for steps not in ``cache`` (``None``: each step's own setting).
    """

    disabled_treatments: list[str] = field(default_factory=list)
    cache: dict[str, bool] = field(default_factory=dict)
    cache_all: bool | None = None

    def is_cached(self, step_name: str, default: bool) -> bool:
        """Whether step ``step_name`` should be cacheable (``default``: its own setting)."""
        if step_name in self.cache:
            return self.cache[step_name]
        return self.cache_all if self.cache_all is not None else default

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready content of the file."""
        return {
            "disabled_treatments": list(self.disabled_treatments),
            "cache": dict(self.cache),
            "cache_all": self.cache_all,
        }


def state_path(folder: str | Path) -> Path:
    """``<folder>/config.state.json`` (``folder`` may also be the config file itself)."""
    folder = Path(folder)
    if folder.is_file() or folder.suffix in (".yaml", ".yml"):
        folder = folder.parent
    return folder / STATE_FILE


def load_state(folder: str | Path) -> ExperimentState:
    """Read the state of the experiment in ``folder``.

    Args:
        folder: the experiment folder (or its ``config.yaml``).

    Returns:
        The state; an empty one when the file does not exist.

    Raises:
        ConfigValidationError: the file is not valid JSON or has unexpected keys or types.
    """
    path = state_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ExperimentState()
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, "", f"cannot read the file ({exc})") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigValidationError(
            [Problem(path, "", f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}")]
        ) from None
    return _parse(path, data)


def _parse(path: Path, data: Any) -> ExperimentState:
    if not isinstance(data, dict):
        raise _bad(path, "", f"expected a JSON object, got {type(data).__name__}")
    problems = []
    unknown = sorted(set(data) - {"disabled_treatments", "cache", "cache_all"})
    for key in unknown:
        problems.append(Problem(path, key, "unknown key (expected disabled_treatments, cache, cache_all)"))
    disabled = data.get("disabled_treatments", [])
    if not isinstance(disabled, list) or not all(isinstance(t, str) for t in disabled):
        problems.append(Problem(path, "disabled_treatments", f"expected a list of treatment names, got {disabled!r}"))
    cache = data.get("cache", {})
    if not isinstance(cache, dict) or not all(isinstance(v, bool) for v in cache.values()):
        problems.append(Problem(path, "cache", f"expected an object {{step name: true/false}}, got {cache!r}"))
    cache_all = data.get("cache_all")
    if cache_all is not None and not isinstance(cache_all, bool):
        problems.append(Problem(path, "cache_all", f"expected true, false or null, got {cache_all!r}"))
    if problems:
        raise ConfigValidationError(problems)
    return ExperimentState(list(disabled), dict(cache), cache_all)


def save_state(folder: str | Path, state: ExperimentState) -> Path:
    """Write ``state`` to ``<folder>/config.state.json`` atomically; return the path.

    Readers see the old file or the new one, never a half-written one.
    """
    from crystallize.store.artifacts import atomic_write_bytes

    path = state_path(folder)
    text = json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def apply_state(state: ExperimentState, treatments: list[Any], steps: list[Any], where: Path) -> list[Any]:
    """Set each step's ``cacheable`` from ``state``; return the treatments not disabled.

    Args:
        state: the switches.
        treatments: the config's treatments (objects with a ``name``).
        steps: the built steps (``cacheable`` is set on them in place).
        where: the state file, for warnings about names that no longer exist.
    """
    known = {t.name for t in treatments}
    for name in state.disabled_treatments:
        if name not in known:
            logger.warning("%s: disabled treatment '%s' is not in the config; ignored", where, name)
    step_names = {step.name for step in steps}
    for name in state.cache:
        if name not in step_names:
            logger.warning("%s: cache switch for unknown step '%s'; ignored", where, name)
    for step in steps:
        wanted = state.is_cached(step.name, bool(getattr(step, "cacheable", False)))
        if wanted != bool(getattr(step, "cacheable", False)):
            step.cacheable = wanted
    disabled = set(state.disabled_treatments)
    return [t for t in treatments if t.name not in disabled]


def _bad(path: Path, key: str, message: str) -> ConfigValidationError:
    return ConfigValidationError([Problem(path, key, message)])


__all__ = ["STATE_FILE", "ExperimentState", "apply_state", "load_state", "save_state", "state_path"]
