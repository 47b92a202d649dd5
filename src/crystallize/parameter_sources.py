"""Step parameters that nothing can supply: found by ``validate()``, not by every replicate.

A ``@pipeline_step`` keyword parameter without a default and not fixed when the step was
built is looked up in the context of each replicate (see
:meth:`~crystallize.pipeline_step.FunctionStep.resolve_params`). When neither
``initial_ctx``, nor the condition's treatment values, nor the engine (``replicate``,
``condition``, ``seed_used``) set it, and nothing else could add it to the context, every
replicate of that condition fails with :class:`~crystallize.exceptions.MissingParameterError`
— after its datasource and the steps before ran.

What "nothing else" means is decided as :func:`crystallize.unread_values.may_add_context_keys`
decides it (the same analysis that finds treatment values nothing reads): no treatment
given as a function ``fn(ctx)``, no step or datasource that may do more with its ``ctx``
than read it or record metrics, no plugin hook defined outside crystallize that sees the
context or the running experiment, no resource factory. When any of those is in a
condition, that condition is assumed to supply every key.

:func:`unsuppliable_parameters` words a warning per missing parameter, given when the
run starts (``validate()``), before any datasource runs:

- when every condition of the run (the baseline and each treatment) lacks a parameter
  (the same one, or each its own), that no replicate can succeed, with the ways to
  supply it: a long run can be stopped at once;
- missing in some conditions only (say the baseline, while each treatment sets the key,
  or a treatment whose swapped-in step needs a key nobody sets): which conditions will
  fail; the others run and can be compared.

The run is not refused: each replicate still fails as the contract says, with a
:class:`~crystallize.exceptions.MissingParameterError` naming the step and the parameter,
kept in ``result.errors`` like any step failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.pipeline_step import _NO_DEFAULT, FunctionStep, _context_name_hint
from crystallize.treatment import BASELINE
from crystallize.unread_values import may_add_context_keys
from crystallize.utils.context import ENGINE_KEYS_SET

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.treatment import Treatment

#: A condition: its name, its treatment (``None`` for the baseline) and the steps it runs.
Condition = tuple[str, "Treatment | None", Sequence[Any]]

#: Conditions named in a message before "and N more".
_SHOWN = 5


def unsuppliable_parameters(experiment: Experiment, conditions: Sequence[Condition]) -> list[str]:
    """A warning for each step parameter that nothing can supply in some of
    ``conditions``: that no replicate can succeed when every condition lacks one, else
    which conditions will fail. Only ``@pipeline_step`` functions are checked (a
    :class:`~crystallize.pipeline_step.PipelineStep` subclass reads the context as its
    code likes), and a parameter counts as missing in a condition only when that is
    certain (see the module docstring).

    Args:
        experiment: the experiment (its ``initial_ctx``, plugins and datasource).
        conditions: every condition the run runs, with its steps.
    """
    everywhere = len(conditions)
    initial = {key for key in experiment.initial_ctx if isinstance(key, str)}
    # (step name, parameter) -> {condition: missing there?}, and a step for the messages
    found: dict[tuple[str, str], dict[str, bool]] = {}
    steps_named: dict[tuple[str, str], FunctionStep] = {}
    set_keys: dict[str, list[str]] = {}  # what sets each key, for "did you mean"
    for key in initial:
        set_keys.setdefault(key, []).append("initial_ctx")
    for name, treatment, steps in conditions:
        needed = [
            (step, parameter)
            for step in steps
            if type(step) is FunctionStep
            for parameter, default in step._injected
            if default is _NO_DEFAULT and parameter not in ENGINE_KEYS_SET and parameter not in step.params
        ]
        if not needed:
            continue
        values = treatment.values if treatment is not None else None
        supplied = set(initial)
        if isinstance(values, Mapping):
            supplied.update(values)
            for key in values:
                if isinstance(key, str):
                    set_keys.setdefault(key, []).append(f"treatment '{treatment.name}'")  # type: ignore[union-attr]
        lacks = any(parameter not in supplied for _, parameter in needed)
        if lacks:  # only then is it worth asking whether something else adds keys
            datasource = (treatment.datasource if treatment is not None else None) or experiment.datasource
            lacks = not may_add_context_keys(experiment, treatment, steps, datasource)
        for step, parameter in needed:
            key = (step.name, parameter)
            steps_named.setdefault(key, step)
            statuses = found.setdefault(key, {})
            statuses[name] = statuses.get(name, False) or (lacks and parameter not in supplied)
    lacking = {
        key: [condition for condition, lacks in statuses.items() if lacks] for key, statuses in found.items()
    }
    lacking = {key: missing for key, missing in lacking.items() if missing}
    doomed = {condition for missing in lacking.values() for condition in missing}
    if len(doomed) == everywhere:  # no condition can run
        return [_nothing_can_run(steps_named[key], key[1], missing, set_keys) for key, missing in lacking.items()]
    return [_warning(steps_named[key], key[1], missing) for key, missing in lacking.items()]


def _nothing_can_run(step: FunctionStep, parameter: str, missing: list[str], set_keys: dict[str, list[str]]) -> str:
    """Why ``step`` can never get ``parameter``, so that no replicate can succeed, and the
    ways to give it one."""
    from crystallize.utils.text import closest

    match = closest(parameter, set_keys)
    typo = f" ({' and '.join(set_keys[match])} set{'s' if len(set_keys[match]) == 1 else ''} '{match}': a typo?)" if match else ""
    hint = _context_name_hint(step.fn, parameter)
    return (
        f"Step '{step.name}' needs the parameter '{parameter}', which nothing can supply in "
        f"{_conditions(missing)}, so every replicate of the run will fail with "
        "MissingParameterError: it has no default, "
        f"the step was built without {parameter}=, and neither initial_ctx nor a treatment's "
        f"values set '{parameter}'{typo} (nor can anything else add it: no treatment "
        "function, no step, datasource or plugin hook using the context). Give the parameter a "
        f"default ({parameter}=... in def {step.name}), fix it when building the step "
        f"({step.name}({parameter}=2)), or set it in initial_ctx={{{parameter!r}: ...}} or a "
        f"treatment (treatment('name', {{{parameter!r}: ...}}))"
        + (f". {hint}" if hint else "")
    )


def _warning(step: FunctionStep, parameter: str, missing: list[str]) -> str:
    """The warning for ``parameter`` of ``step`` missing only in the ``missing`` conditions."""
    baseline_only = missing == [BASELINE]
    fix = (
        f"set a baseline value in initial_ctx={{{parameter!r}: ...}} (a treatment's value overrides it) "
        f"or give the parameter a default ({parameter}=... in def {step.name})"
        if baseline_only
        else f"set '{parameter}' in initial_ctx (a treatment's value overrides it), in those "
        "treatments' values, or give the parameter a default"
    )
    return (
        f"Step '{step.name}' needs the parameter '{parameter}', which nothing supplies in "
        f"{_conditions(missing)}: it has no default, the step was built without it, and "
        f"neither initial_ctx nor {'the' if len(missing) == 1 else 'their'} treatment values set it "
        f"(other conditions do, or do not run the step), so every replicate there will fail with "
        "MissingParameterError. "
        f"To run {'it' if len(missing) == 1 else 'them'}, {fix}."
    )


def _conditions(names: list[str]) -> str:
    """``names`` for a message: "the baseline", "treatment 'a'", "the baseline and treatments 'a', 'b'"."""
    treatments = [name for name in names if name != BASELINE]
    parts = ["the baseline"] if len(treatments) < len(names) else []
    if treatments:
        shown = ", ".join(f"'{name}'" for name in treatments[:_SHOWN])
        more = f" and {len(treatments) - _SHOWN} more" if len(treatments) > _SHOWN else ""
        parts.append(f"treatment{'s' if len(treatments) > 1 else ''} {shown}{more}")
    return " and ".join(parts)


__all__ = ["unsuppliable_parameters"]
