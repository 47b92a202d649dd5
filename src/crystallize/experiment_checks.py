"""What :meth:`Experiment.validate() <crystallize.experiment.Experiment.validate>` checks,
one function per kind of problem: each returns the problems it finds as phrases (or
``None``/``[]``), which ``validate()`` gathers into one ExperimentValidationError."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from crystallize.condition_names import padded, padded_problem, shown_name, treatment_name_problems
from crystallize.hypothesis import Hypothesis
from crystallize.pipeline import step_problems
from crystallize.treatment import BASELINE, Treatment
from crystallize.utils.context import ENGINE_KEY_HINTS, ENGINE_KEYS
from crystallize.utils.text import function_label

_NO_STEPS = (
    "{what} has no steps, so there is nothing to run or measure: give it at least one step "
    "(Pipeline([my_step()]) or .add_step(my_step()))"
)


#: The most replicates a run takes: it lists the replicates it runs and keeps every
#: condition × replicate's record in memory (about 0.7 KiB each), so far fewer already
#: fill a large machine; more is refused up front rather than failing midway.
MAX_REPLICATES = 100_000_000


def too_many_replicates(replicates: int) -> str:
    """The problem with a replicate count above :data:`MAX_REPLICATES`."""
    return (
        f"replicates must be at most {MAX_REPLICATES:,} (a run keeps every replicate's record in "
        f"memory), got {replicates:,}"
    )


def _clause(problem: str) -> str:
    """``problem`` without its closing full stop, to join with ``"; "`` (an ellipsis stays)."""
    return problem[:-1] if problem.endswith(".") and not problem.endswith("..") else problem


def _as_count(value: Any) -> Any:
    """Any integral number but a bool (``numpy.int64(3)``) as a Python int; anything
    else unchanged, for validate() to report."""
    if isinstance(value, bool):
        return value
    try:
        return operator.index(value)  # int, numpy.int64, other integer types
    except TypeError:
        return value


def _name_problems(name: Any, what: str = "experiment") -> list[str]:
    """Why ``name`` cannot name an experiment (or, with ``what="condition"``, a
    treatment whose steps write artifacts): it becomes a directory of the artifact store. The check is the one the
    run applies when it makes that directory (after the run is stored), done here first."""
    from crystallize.store.artifacts import check_path_component  # lazy: import time

    if what == "experiment" and isinstance(name, str) and padded(name):
        return [padded_problem("the name", name)]  # treatment names: see _duplicates
    try:
        check_path_component(name, what)
    except ValueError as exc:
        owner = "the name" if what == "experiment" else "the treatment name"
        return [
            f"{owner} {shown_name(name)} cannot be used: it becomes a directory in the artifact store, "
            "so it must not be blank, '.' or '..', contain '/', '\\' or control characters, be "
            "longer than 255 bytes in UTF-8 or be a name the store uses itself (on Windows also "
            "not contain < > : \" | ? *, end with a dot or a space or be a device name such as "
            f"con or nul): {_reason(exc)}"
        ]
    return []


def _reason(exc: ValueError) -> str:
    """The part of check_path_component's message after the name: what rule it breaks."""
    text = str(exc)
    return text.split("artifact path: ", 1)[-1]


#: What to do instead of setting an engine key yourself.
def _engine_key_problems(owner: str, values: Mapping[str, Any]) -> list[str]:
    """One problem per engine-set key (``replicate``, ``condition``, ``seed_used``) in
    ``values``: set there, it would be overwritten or make every replicate alike."""
    return [
        f"{owner} sets '{key}', which the engine sets for every replicate ({ENGINE_KEY_HINTS[key]})"
        for key in ENGINE_KEYS
        if key in values
    ]


def _initial_ctx_problem(initial_ctx: Any) -> str | None:
    """Why ``initial_ctx`` is not a mapping of context keys to values, or ``None``."""
    if isinstance(initial_ctx, Mapping):
        return None
    return (
        "initial_ctx must be a mapping of context keys to values, e.g. "
        f"initial_ctx={{'lr': 0.1}}, got {type(initial_ctx).__name__} {initial_ctx!r}"
    )


def _treatment_problems(treatments: Any) -> list[str]:
    """One problem per item of ``experiment.treatments`` (changed after construction)
    that is not a :class:`Treatment`, saying how to make one. The constructor makes
    treatments of what it is given; the list it keeps holds only Treatments."""
    if not isinstance(treatments, list | tuple):
        return [
            f"experiment.treatments is {type(treatments).__name__} {treatments!r}, not a list of "
            "treatments: assign a list, e.g. experiment.treatments = [treatment('t', {...})]"
        ]
    problems = []
    for index, item in enumerate(treatments):
        if isinstance(item, Treatment):
            continue
        if isinstance(item, Mapping):
            hint = f"give the values a name: treatment('name', {item!r})"
        elif isinstance(item, str):
            hint = (
                "a name only chooses among the experiment's treatments in run(treatments=[...]); "
                "add a Treatment, e.g. treatment('name', {...})"
            )
        elif callable(item):
            hint = f"give the function a name: treatment('name', {function_label(item, 'fn')})"
        else:
            hint = "add a Treatment, e.g. treatment('name', {'delta': 1})"
        problems.append(
            f"experiment.treatments[{index}] is {item!r} ({type(item).__name__}), not a Treatment: {hint}"
        )
    return problems


def _own_step_problems(treatment: Treatment) -> list[str]:
    """The checks ``Treatment(steps=..., pipeline=...)`` makes, again: its replacement
    steps or the steps of its own pipeline may have been changed since."""
    from crystallize.treatment import _check_replacements

    if treatment.pipeline is not None:
        return [
            f"the pipeline of treatment '{treatment.name}': {problem}"
            for problem in step_problems(treatment.pipeline.steps)
        ]
    if treatment.steps:
        try:
            _check_replacements(treatment.name, treatment.steps)
        except TypeError as exc:
            return [str(exc)]
    return []


def _hypothesis_problems(hypotheses: Sequence[Any]) -> list[str]:
    """One problem per item of ``hypotheses`` that is not a :class:`Hypothesis`."""
    problems = []
    for index, item in enumerate(hypotheses):
        if isinstance(item, Hypothesis):
            continue
        if getattr(item, "__crystallize_hypothesis_decorator__", False):
            hint = "it is @hypothesis(...) not yet applied to a ranker; decorate a function def r(result) -> float with it"
        elif callable(item):
            hint = "decorate the ranker with @hypothesis(verifier=..., metrics=...)"
        else:
            hint = (
                "decorate a ranker with @hypothesis(verifier=..., metrics=...) or build "
                "Hypothesis(verifier=..., metrics=...)"
            )
        problems.append(f"hypotheses[{index}] is {item!r}, not a Hypothesis: {hint}")
    return problems


def _shadowed_values(treatment: Treatment, steps: Sequence[Any]) -> list[str]:
    """Warnings for values of a mapping ``treatment`` that a step fixed at construction
    and no step reads from the context, so the treatment's value reaches no step."""
    if not isinstance(treatment.values, Mapping):
        return []
    read = {key for step in steps for key in getattr(step, "context_keys", ())}
    messages = []
    for key, value in treatment.values.items():
        if key in read:
            continue
        for step in steps:
            params = getattr(step, "params", None) or {}
            if key in params:
                messages.append(
                    f"Treatment '{treatment.name}' sets '{key}' to {value!r}, but step "
                    f"'{step.name}' was built with {key}={params[key]!r}, and a fixed parameter "
                    "wins over context values, so the treatment does not change it. Build the "
                    f"step without {key}= to let treatments set it, or drop '{key}' from the "
                    "treatment."
                )
    return messages


def _duplicates(kind: str, names: list[str]) -> list[str]:
    """One problem per name used more than once in ``names``; for treatments also per
    name with surrounding whitespace, and per name equal to another (or to
    ``baseline``) but for case, Unicode normal form or surrounding whitespace (see
    :func:`~crystallize.condition_names.treatment_name_problems`)."""
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    problems = [f"{kind} name '{name}' is used more than once" for name in repeated]
    if kind == "hypothesis" and repeated:  # named after their rankers: two lambdas share one
        problems[-1] += " (name each hypothesis: @hypothesis(..., name='...') or Hypothesis(..., name='...'))"
    if kind == "treatment":
        if BASELINE in seen:
            problems.append("'baseline' is reserved for the untreated condition")
        problems += [problem for _, problem in treatment_name_problems(names)]
    return problems


__all__ = ["MAX_REPLICATES", "too_many_replicates"]
