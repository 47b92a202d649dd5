"""``--set key=value`` and the other per-run settings of ``crystallize run``.

Values are parsed as YAML scalars by the same YAML 1.2 rules as ``config.yaml``
(:class:`~crystallize.config.yaml_io.ConfigLoader`): ``3`` is an int, ``0.5`` and ``1e-3``
floats, ``true``/``false`` bools (``yes``/``no``/``on``/``off`` stay strings), ``null``
None, anything else a string (quote it to force a string: ``--set label="'007'"``). Keys:

========================================  ============================================
``replicates``                            replicates per condition
``seed``, ``auto_seed``                   the SeedPlugin (also ``plugins.seed.seed`` ...)
``plugins.execution.strategy|workers|address``  how replicates are scheduled
``plugins.artifacts.root_dir|versioned``  where runs are stored
``plugins.logging.verbose|log_level``     logging
``treatments.NAME.KEY``                   a value of treatment NAME
``initial_ctx.KEY`` or plain ``KEY``      a context value every condition starts with
========================================  ============================================

A treatment's NAME may hold ``.``, ``=`` and ``,`` (``lr=0.1``, ``delta=0.1,n=5``): the
longest known name the text continues with ``.KEY=value`` wins. ``-t`` likewise matches
known names whole before it splits its text at ``,``.

Everything changes the loaded experiment for this run only; ``config.yaml`` is untouched.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from crystallize.cli.errors import UserError, known, suggest
from crystallize.cli.plugin_settings import (
    EXECUTORS,
    IgnoredOptionError,
    execution_plugin,
    rebuild_plugins,
)
from crystallize.cli.text import printable, typed_name
from crystallize.experiment_checks import MAX_REPLICATES, too_many_replicates

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.treatment import Treatment

_PLUGIN_KEYS = {
    "seed": ("seed", "auto_seed"),
    "execution": ("strategy", "workers", "address"),
    "artifacts": ("root_dir", "versioned"),
    "logging": ("verbose", "log_level"),
}
_SHORT_KEYS = {"seed": ("seed", "seed"), "auto_seed": ("seed", "auto_seed")}
#: The run settings ``--set`` takes besides context values (``replicats`` gets "did you
#: mean 'replicates'?").
_SETTINGS = frozenset({"replicates", *_SHORT_KEYS})


@dataclass(frozen=True)
class Assignment:
    """One ``--set key=value``: the dotted key and the parsed value.

    A ``treatments.NAME.KEY=value`` is split only once the treatment names are known
    (see :func:`treatment_setting`), as a name may hold ``.`` and ``=``: until then
    ``key`` is the text before the first ``=``, ``value`` is ``None`` and ``text`` the
    whole argument.
    """

    key: str
    value: Any
    text: str = ""

    @property
    def parts(self) -> list[str]:
        """The key split on dots."""
        return self.key.split(".")


def parse_value(text: str, key: str = "KEY") -> Any:
    """Parse ``text``, the value given for ``key``, as a YAML scalar (or a flow
    list/mapping such as ``[1, 2]``), by config.yaml's YAML 1.2 rules (``1e-3`` is a float,
    ``yes`` a string; see :class:`~crystallize.config.yaml_io.ConfigLoader`).

    Raises:
        UserError: ``text`` is empty or blank — most often a shell variable that is not
            set — which YAML would read as ``null`` (for ``plugins.artifacts.root_dir``:
            no store at all): ``null`` must be written out.
    """
    import yaml

    from crystallize.config.yaml_io import load_config_text

    if not text.strip():
        raise UserError(
            f"--set {key}= has an empty value (a shell variable that is not set?): write "
            f"{key}=null for no value, or {key}=\"''\" for an empty string."
        )
    try:
        return load_config_text(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid YAML"
        raise UserError(f"--set: cannot parse the value {text!r} as YAML ({first}).") from None


def parse_assignment(text: str) -> Assignment:
    """Parse ``key=value``.

    Raises:
        UserError: no ``=``, an empty key or part of a key, or a value that is not YAML.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set expects key=value (e.g. --set replicates=5), got {text!r}.")
    if key.split(".")[0] == "treatments":
        return Assignment(key, None, text.lstrip())
    _check_parts(key)
    return Assignment(key, parse_value(raw, key))


def _check_parts(key: str) -> None:
    if any(not part for part in key.split(".")):
        raise UserError(f"--set: {key!r} is not a valid key (empty part between dots).")


def parse_assignments(texts: Iterable[str]) -> list[Assignment]:
    """Parse every ``--set`` argument (see :func:`parse_assignment`)."""
    return [parse_assignment(text) for text in texts or ()]


@dataclass
class RunSettings:
    """Everything ``crystallize run`` may change on an experiment for one run.

    Attributes:
        assignments: parsed ``--set`` values (applied first).
        replicates: ``--replicates``.
        seed: ``--seed``.
        executor, workers, address: ``--executor``, ``--workers``, ``--address``.
        no_cache: ``--no-cache``: every step computes (nothing is read from or
            written to the step cache).
    """

    assignments: list[Assignment] = field(default_factory=list)
    replicates: int | None = None
    seed: int | None = None
    executor: str | None = None
    workers: int | None = None
    address: str | None = None
    no_cache: bool = False


def apply_settings(experiments: Sequence[Experiment], settings: RunSettings) -> None:
    """Apply ``settings`` to every experiment (a graph's, or just one) in place.

    Raises:
        UserError: a setting names something that does not exist or has a bad value.
    """
    names = {t.name for experiment in experiments for t in _declared(experiment)}
    treatment_values = [treatment_setting(a, names) for a in settings.assignments if a.parts[0] == "treatments"]
    for key in [context_key(a) for a in settings.assignments]:
        if key is not None:
            _warn_unused(experiments, key)
    for experiment in experiments:
        for setting in treatment_values:
            _set_treatment_value(experiment, setting)
        _apply_one(experiment, settings)


def context_key(assignment: Assignment) -> str | None:
    """The context key an assignment sets (``None`` for the other kinds of keys)."""
    parts = assignment.parts
    if assignment.key == "replicates" or assignment.key in _SHORT_KEYS or parts[0] in ("plugins", "treatments"):
        return None
    return ".".join(parts[1:]) if parts[0] == "initial_ctx" and len(parts) > 1 else assignment.key


def _apply_one(experiment: Experiment, settings: RunSettings) -> None:
    plugin_values: dict[str, dict[str, Any]] = {kind: {} for kind in _PLUGIN_KEYS}
    set_keys: dict[str, dict[str, str]] = {kind: {} for kind in _PLUGIN_KEYS}  # name -> --set key
    for assignment in settings.assignments:
        parts = assignment.parts
        if assignment.key == "replicates":
            experiment.replicates = _replicates(assignment.value, "--set replicates")
        elif assignment.key in _SHORT_KEYS or parts[0] == "plugins":
            kind, name = _SHORT_KEYS.get(assignment.key) or _plugin_key(assignment)
            plugin_values[kind][name] = assignment.value
            set_keys[kind][name] = assignment.key
        elif parts[0] != "treatments":  # treatments.NAME.KEY: set by apply_settings
            experiment.initial_ctx[context_key(assignment) or assignment.key] = assignment.value
    if settings.replicates is not None:
        experiment.replicates = _replicates(settings.replicates, "--replicates")
    options = [("seed", "seed", settings.seed), ("execution", "strategy", settings.executor)]
    options += [("execution", "workers", settings.workers), ("execution", "address", settings.address)]
    for kind, name, value in options:
        if value is not None:
            plugin_values[kind][name] = value
            set_keys[kind].pop(name, None)  # the option wins over --set
    _rebuild_plugins(experiment, plugin_values, set_keys)
    if settings.no_cache:
        for step in all_steps(experiment):
            if getattr(step, "cacheable", False):
                step.cacheable = False


def _rebuild_plugins(
    experiment: Experiment, plugin_values: dict[str, dict[str, Any]], set_keys: dict[str, dict[str, str]]
) -> None:
    """:func:`rebuild_plugins` one kind at a time, so that a bad value's error starts
    with the ``--set`` key(s) that gave it, like every other ``--set`` error (an
    execution setting the executor would ignore is named, flag or ``--set`` key, by
    the error itself)."""
    given = {name: f"--set {key}" for name, key in set_keys["execution"].items()}
    for kind, values in plugin_values.items():
        if not values:
            continue
        try:
            rebuild_plugins(experiment, {other: values if other == kind else {} for other in plugin_values}, given)
        except IgnoredOptionError:
            raise
        except UserError as exc:
            keys = list(set_keys[kind].values())
            if not keys:
                raise
            message = str(exc)
            if len(keys) == 1:
                message = message.removeprefix(f"{keys[0]}: ")  # already named (log_level)
            raise UserError(f"--set {', '.join(keys)}: {message}", exc.details) from None


def all_steps(experiment: Experiment) -> list[Any]:
    """Every step the experiment may run: its pipeline's and its treatments' replacements."""
    steps = list(experiment.pipeline.steps) if experiment.pipeline is not None else []
    for treatment in [*experiment.treatments, *getattr(experiment, "declared_treatments", ())]:
        steps += treatment.own_steps()
    return steps


def _replicates(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{where}: replicates must be a whole number of at least 1, got {value!r}.")
    if value > MAX_REPLICATES:
        raise UserError(f"{where}: {too_many_replicates(value)}.")
    return value


def _plugin_key(assignment: Assignment) -> tuple[str, str]:
    parts = assignment.parts
    if len(parts) != 3 or parts[1] not in _PLUGIN_KEYS or parts[2] not in _PLUGIN_KEYS[parts[1]]:
        choices = [f"plugins.{kind}.{name}" for kind, names in _PLUGIN_KEYS.items() for name in names]
        raise UserError(
            f"--set: unknown plugin setting '{assignment.key}'.{suggest(assignment.key, choices)}"
            f"{known(choices, 'plugin settings')}"
        )
    return parts[1], parts[2]


def _declared(experiment: Experiment) -> list[Treatment]:
    treatments = list(getattr(experiment, "declared_treatments", ()) or ())
    names = {t.name for t in treatments}
    return treatments + [t for t in experiment.treatments if t.name not in names]


@dataclass(frozen=True)
class TreatmentSetting:
    """A ``--set treatments.NAME.KEY=value`` split against the known treatment names."""

    name: str
    key: str
    value: Any


def treatment_setting(assignment: Assignment, names: Collection[str]) -> TreatmentSetting:
    """Split ``assignment`` (a ``treatments.`` one): NAME is the longest of ``names`` that
    the text continues after with ``.KEY=value``, so a name may hold ``.``, ``=`` and ``,``.

    Raises:
        UserError: no known treatment is named, or the key to set is missing.
    """
    rest = assignment.text.removeprefix("treatments.")  # "" when the text is "treatments=..."
    for name in sorted(names, key=len, reverse=True):
        if rest.startswith(f"{name}."):
            key, sep, raw = rest[len(name) + 1 :].partition("=")
            key = key.strip()
            if sep and key:
                _check_parts(key)
                return TreatmentSetting(name, key, parse_value(raw, f"treatments.{name}.{key}"))
    _no_treatment_value(assignment.text, names)


_HOW = (
    " Write it as treatments.NAME.KEY=value, with NAME exactly as config.yaml has it "
    "(it may hold '.', '=' and ',')."
)


def _no_treatment_value(text: str, names: Collection[str]) -> NoReturn:
    """Raise why ``--set text`` names no treatment value: a known name without a key, or
    an unknown name (read as the text up to the last ``.`` before the last ``=``)."""
    head = text.rpartition("=")[0].strip()
    name = head.removeprefix("treatments.")
    if name in names:
        raise UserError(f"--set {text}: give the key to set in treatment '{name}': treatments.{name}.KEY=value.")
    _check_parts(head)
    parts = head.split(".")
    if len(parts) < 3:
        raise UserError(f"--set: '{text}' must name a treatment and a value.{known(names, 'treatments')}{_HOW}")
    guess = ".".join(parts[1:-1])
    raise UserError(
        f"--set {text}: unknown treatment '{guess}'.{suggest(guess, names)}{known(names, 'treatments')}{_HOW}"
    )


def _set_treatment_value(experiment: Experiment, setting: TreatmentSetting) -> None:
    from crystallize.treatment import Treatment

    name, key, value = setting.name, setting.key, setting.value
    old = next((t for t in _declared(experiment) if t.name == name), None)
    if old is None:
        return  # another experiment of the graph has it (checked beforehand)
    if old.values is not None and not isinstance(old.values, dict):
        raise UserError(
            f"--set treatments.{name}.{key}: treatment '{name}' computes its values in code "
            "(a function), so they cannot be set from the command line."
        )
    values = dict(old.values or {})
    values[key] = value
    new = Treatment(name, values, datasource=old.datasource, steps=old.steps, pipeline=old.pipeline)
    experiment.treatments = [new if t.name == name else t for t in experiment.treatments]
    declared = getattr(experiment, "declared_treatments", ())
    if declared:
        experiment.declared_treatments = tuple(new if t.name == name else t for t in declared)


def context_keys(experiment: Experiment) -> set[str]:
    """Context keys the experiment uses: initial_ctx, treatment values, step parameters."""
    keys = set(experiment.initial_ctx)
    for treatment in _declared(experiment):
        if isinstance(treatment.values, dict):
            keys.update(treatment.values)
    for step in all_steps(experiment):
        keys.update(getattr(step, "context_keys", ()) or ())
    return keys


def _warn_unused(experiments: Sequence[Experiment], key: str) -> None:
    used = set().union(*(context_keys(e) for e in experiments))
    if key not in used:
        names = ", ".join(f"'{e.name}'" for e in experiments)
        print(
            printable(
                f"warning: --set {key}: no step parameter, treatment or initial_ctx of "
                f"{names} uses '{key}'; setting it anyway.{suggest(key, used | _SETTINGS)}"
            ),
            file=sys.stderr,
        )


def select_treatments(experiment: Experiment, names: Sequence[str]) -> list[Treatment] | None:
    """The treatments ``--treatment`` asks for (``None``: the experiment's own).

    Disabled treatments (``config.state.json``) may be named explicitly.

    Raises:
        UserError: a name is not a treatment of the experiment, or an argument names none
            (``-t ""``, ``-t ","``).
    """
    if not names:
        return None
    available = {t.name: t for t in _declared(experiment)}
    chosen = []
    for text in names:
        parts = _typed_treatments(text, [*available, "baseline"])
        if not parts:  # -t "" (an unset shell variable?) must not run the baseline alone
            raise UserError(
                f"-t {text!r} names no treatment; give a treatment name of '{experiment.name}' "
                f"(e.g. -t {next(iter(available), 'NAME')}), or leave -t out to run them all."
            )
        for part in parts:
            if part == "baseline":
                continue  # always runs
            if part not in available:
                raise UserError(_unknown_treatment(experiment.name, part, text, available))
            if available[part] not in chosen:
                chosen.append(available[part])
    return chosen


def _typed_treatments(text: str, names: Sequence[str]) -> list[str]:
    """The treatment names in one ``-t`` argument: the known ``names`` matched whole, the
    longest first (a sweep's name may hold ``,``: ``delta=0.1,n=5``); other text split at
    ``,``. Names match across Unicode normal forms (see :func:`typed_name`)."""
    import unicodedata

    composed = {unicodedata.normalize("NFC", name): name for name in names}
    rest = typed_name(text).strip()
    found = []
    while rest:
        part = _longest_known(rest, composed) or rest.partition(",")[0]
        rest = rest[len(part) + 1 :].strip()
        if part.strip():
            found.append(composed.get(part.strip(), part.strip()))
    return found


def _longest_known(text: str, names: Iterable[str]) -> str | None:
    """The longest of ``names`` that ``text`` starts with, followed by ``,`` or its end."""
    fits = [name for name in names if text.startswith(name) and text[len(name) : len(name) + 1] in ("", ",")]
    return max(fits, key=len, default=None)


def _unknown_treatment(experiment: str, part: str, text: str, available: Collection[str]) -> str:
    """The error for ``part`` of ``-t text``, which names no treatment of ``experiment``."""
    message = f"experiment '{experiment}' has no treatment '{part}'"
    if part != text.strip():
        message += f" (read from -t '{text}', split at each ',' that is not part of a known treatment name)"
    message += f".{suggest(part, available)}{known(available, 'treatments')}"
    if "," in text:
        message += " Give one treatment per -t, named exactly as config.yaml has it."
    return message


__all__ = [
    "EXECUTORS",
    "Assignment",
    "RunSettings",
    "TreatmentSetting",
    "all_steps",
    "apply_settings",
    "context_key",
    "context_keys",
    "execution_plugin",
    "parse_assignment",
    "parse_assignments",
    "parse_value",
    "select_treatments",
    "treatment_setting",
]
