"""Replacing an experiment's plugins for one run (``--seed``, ``--executor``, ``plugins.*``).

Each kind (seed, artifacts, logging, execution) is rebuilt from the current plugin's
settings plus the new values, and put in place of the old one, so the experiment
keeps exactly one plugin per kind.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.cli.errors import UserError, suggest
from crystallize.plugins.execution import STRATEGY_NAMES

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.plugins.hookspec import BasePlugin

#: The execution strategies ``--executor`` accepts (those of config.yaml).
EXECUTORS = STRATEGY_NAMES
#: How each execution setting is named in messages when it came from a flag; a setting
#: given with ``--set`` is named ``--set plugins.execution.NAME`` instead.
EXECUTION_FLAGS = {"strategy": "--executor", "workers": "--workers", "address": "--address"}


def unknown_choice(what: str, value: object, choices: Sequence[str]) -> UserError:
    """``unknown <what> 'value'. Did you mean 'x'? Use one of: a, b.``"""
    return UserError(f"unknown {what} {value!r}.{suggest(str(value), choices)} Use one of: {', '.join(choices)}.")


def ignored_option(strategy: str, workers: Any, address: Any, given: Mapping[str, str] | None = None) -> str | None:
    """Why ``workers`` or ``address`` cannot go with ``strategy`` (the strategy would
    silently ignore it), or ``None`` when both are used.

    ``given`` names each setting as the user gave it (:data:`EXECUTION_FLAGS` by default,
    ``--set plugins.execution.workers``...), so the message says which to change.
    """
    from crystallize.config.schema import STRATEGY_OPTIONS

    names = {**EXECUTION_FLAGS, **(given or {})}
    chosen = names["strategy"]

    def choose(value: str) -> str:
        return f"{chosen}={value}" if chosen.startswith("--set ") else f"{chosen} {value}"

    if workers is not None and strategy not in STRATEGY_OPTIONS["workers"]:
        parallel = STRATEGY_OPTIONS["workers"]
        others = ", ".join(name for name in parallel if name != "process")
        why = " runs one replicate at a time and" if strategy == "serial" else ""
        return (
            f"{names['workers']} is for parallel executors only ({', '.join(parallel)}); the {strategy} executor "
            f"({choose(strategy)}){why} would ignore it. Leave out "
            f"{names['workers']}, or use a parallel executor: {choose('process')} (or {others})."
        )
    if address is not None and strategy not in STRATEGY_OPTIONS["address"]:
        source = "" if chosen == EXECUTION_FLAGS["strategy"] else f" from {chosen}"
        return f"{names['address']} is for the Ray executor only (got executor '{strategy}'{source})."
    return None


def rebuild_plugins(
    experiment: Experiment, values: dict[str, dict[str, Any]], given: Mapping[str, str] | None = None
) -> None:
    """Rebuild the plugin of each kind in ``values`` (``{"seed": {"seed": 3}, ...}``).

    ``given`` names the execution settings as the user gave them, for messages (see
    :func:`execution_plugin`).
    """
    from crystallize.experiment import is_execution_plugin
    from crystallize.plugins import ArtifactPlugin, LoggingPlugin, SeedPlugin

    builders: list[tuple[Callable[[Any], bool], Callable[[], BasePlugin | None]]] = []
    if values["seed"]:
        builders.append((lambda p: isinstance(p, SeedPlugin), lambda: _seed_plugin(experiment, values["seed"])))
    if values["artifacts"]:
        builders.append((lambda p: isinstance(p, ArtifactPlugin), lambda: _artifact_plugin(experiment, values["artifacts"])))
    if values["logging"]:
        builders.append((lambda p: isinstance(p, LoggingPlugin), lambda: _logging_plugin(experiment, values["logging"])))
    if values["execution"]:
        builders.append((is_execution_plugin, lambda: execution_plugin(experiment, **values["execution"], given=given)))
    for matches, build in builders:
        replace_plugin(experiment, matches, build())


def replace_plugin(experiment: Experiment, matches: Callable[[Any], bool], plugin: BasePlugin | None) -> None:
    """Put ``plugin`` in place of the experiment's plugin(s) that ``matches``."""
    from crystallize.experiment import resolve_plugins

    if plugin is None:
        return
    others = [p for p in experiment.plugins if not matches(p)]
    experiment.plugins = resolve_plugins([*others, plugin])
    from crystallize.utils.warnings_capture import catch_warnings

    with catch_warnings():
        warnings.simplefilter("ignore")  # the run warns again where it matters
        plugin.init_hook(experiment)


def _seed_plugin(experiment: Experiment, values: dict[str, Any]) -> BasePlugin:
    from crystallize.plugins import SeedPlugin

    current = experiment.get_plugin(SeedPlugin)
    seed = values.get("seed", current.seed if current else None)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UserError(f"seed must be a non-negative whole number or null, got {seed!r}.")
    auto_seed = _true_or_false("auto_seed", values.get("auto_seed", current.auto_seed if current else True))
    return SeedPlugin(seed=seed, auto_seed=auto_seed, seed_fn=current.seed_fn if current else None)


def _artifact_plugin(experiment: Experiment, values: dict[str, Any]) -> BasePlugin:
    from crystallize.plugins import ArtifactPlugin

    current = experiment.get_plugin(ArtifactPlugin)
    root = values.get("root_dir", current.root_dir if current else "data")
    versioned = values.get("versioned", current.versioned if current else False)
    if root is not None and not isinstance(root, str):
        root = str(root)
    if root is not None:
        from crystallize.config.schema import root_dir_problem

        problem = root_dir_problem(root)
        if problem is not None:  # it would fail only once the run is stored
            raise UserError(f"plugins.artifacts.root_dir: {problem}.")
    _true_or_false("plugins.artifacts.versioned", versioned)
    return ArtifactPlugin(root_dir=root, versioned=versioned)  # type: ignore[arg-type]


def _true_or_false(name: str, value: Any) -> bool:
    """``value``, refused unless it is a boolean (``--set ...=yes`` reads the string 'yes')."""
    if not isinstance(value, bool):
        from crystallize.config.schema import yaml11_boolean_hint

        raise UserError(f"{name} must be true or false, got {value!r}{yaml11_boolean_hint(value)}.")
    return value


def _logging_plugin(experiment: Experiment, values: dict[str, Any]) -> BasePlugin:
    from crystallize.plugins import LoggingPlugin

    current = experiment.get_plugin(LoggingPlugin)
    verbose = _true_or_false("plugins.logging.verbose", values.get("verbose", current.verbose if current else False))
    if "log_level" in values:
        level = {"log_level": values["log_level"]}
    elif current is not None and current._asked:  # the plugin keeps no public record of it
        level = {"log_level": current.log_level}
    else:
        level = {}  # left unset, as before: a level the user gave the logger holds
    try:
        return LoggingPlugin(verbose=bool(verbose), **level)
    except (ValueError, AttributeError) as exc:
        raise UserError(f"plugins.logging.log_level: {exc}") from None


def execution_plugin(
    experiment: Experiment,
    strategy: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    *,
    given: Mapping[str, str] | None = None,
) -> BasePlugin | None:
    """The execution plugin for ``--executor/--workers/--address`` (``None``: keep the current).

    ``--workers`` alone keeps a parallel experiment's executor type and makes a serial
    one use processes; ``--address`` alone means Ray. ``given`` names each setting as the
    user gave it, for messages (:data:`EXECUTION_FLAGS` by default).

    Raises:
        UserError: an unknown executor, a bad number of workers, or an option the
            executor would ignore (``--workers`` with ``--executor serial``, ``--address``
            with anything but ``ray``), which is refused rather than silently dropped.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"workers must be a whole number of at least 1, got {workers!r}.")
    if address is not None and not isinstance(address, str):  # --set ...address=6379 reads an int
        raise UserError(f"address must be text, such as 'auto' or 'ray://head:10001', got {address!r}.")
    if strategy is None:
        if address is not None:
            strategy = "ray"
        elif workers is not None:
            strategy = _current_strategy(experiment)
            if strategy == "serial":
                strategy = "process"
        else:
            return None
    if strategy not in EXECUTORS:
        raise unknown_choice("executor", strategy, EXECUTORS)
    problem = ignored_option(strategy, workers, address, given)
    if problem is not None:
        raise IgnoredOptionError(problem)
    from crystallize.config.build import execution_plugin as build_execution_plugin

    return build_execution_plugin(strategy, workers, address)


class IgnoredOptionError(UserError):
    """An execution setting the chosen executor would ignore; the message names every
    setting as the user gave it (so it needs no ``--set KEY:`` prefix)."""


def _current_strategy(experiment: Experiment) -> str:
    execution = experiment.execution_plugin
    kind = getattr(execution, "executor_type", None)
    if kind in ("thread", "process"):
        return kind
    name = type(execution).__name__
    if name == "RayExecution":
        return "ray"
    if name == "AsyncExecution":
        return "async"
    return "serial"


__all__ = [
    "EXECUTION_FLAGS",
    "EXECUTORS",
    "IgnoredOptionError",
    "execution_plugin",
    "ignored_option",
    "rebuild_plugins",
    "replace_plugin",
    "unknown_choice",
]
