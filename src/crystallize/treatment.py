"""Treatments: named conditions compared with the baseline.

A treatment usually changes context values (``{"delta": 10}``), which reach steps
through keyword injection. It may also reshape the experiment for its condition: use
another datasource, swap named steps, or replace the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.utils.context import ENGINE_KEYS, FrozenContext
from crystallize.utils.text import control_character

if TYPE_CHECKING:
    from crystallize.datasource import DataSource
    from crystallize.pipeline import Pipeline
    from crystallize.pipeline_step import PipelineStep

BASELINE = "baseline"


class Treatment:
    """A named condition.

    Args:
        name: the condition's name (``"baseline"`` is reserved). An empty or blank
            name (only whitespace) raises ValueError; one that starts or ends with
            whitespace is refused by :meth:`Experiment.validate
            <crystallize.Experiment.validate>`.
        values: a mapping (``{"delta": 10}``) whose items are set in each replicate's
            context before the datasource runs, or a callable ``fn(ctx)`` that adds
            values itself (``ctx.add``/``ctx.override``). The callable is checked when
            given: one that cannot take the context as its one positional argument, or an
            ``async def``, raises TypeError; one that returns a mapping of values instead
            of setting them fails each replicate with a TypeError saying so.
        datasource: replaces the experiment's datasource for this condition.
        steps: ``{"step_name": replacement_step}`` swaps the experiment's steps of those
            names for this condition.
        pipeline: replaces the whole pipeline (a Pipeline or a list of steps) for this
            condition; cannot be combined with ``steps``.

    ``values`` may be changed after construction (in place or by assignment); each run
    applies, and stores in its config, the values as they are when it starts. So may
    ``datasource``, ``steps`` and ``pipeline`` be assigned, checked as the arguments are.
    ``name`` is read-only. Treatments are equal when their names and values are and their
    datasource and steps are alike for the run fingerprint (class, name, code,
    parameters), so a copy or an unpickled treatment equals its original.
    """

    def __init__(
        self,
        name: str,
        values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None,
        datasource: DataSource | None = None,
        steps: Mapping[str, PipelineStep] | None = None,
        pipeline: Pipeline | Sequence[PipelineStep] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A treatment needs a non-empty string name, got {name!r}")
        if not name.strip():
            from crystallize.condition_names import blank_problem  # imports this module

            raise ValueError(blank_problem("Treatment name", name))
        if (control := control_character(name)) is not None:
            raise ValueError(f"Treatment name {name!r} contains the control character {control}; use printable text")
        if name == BASELINE:
            raise ValueError(
                "'baseline' is reserved for the untreated condition; give the treatment another name"
            )
        if steps is not None and pipeline is not None:
            raise ValueError(f"Treatment '{name}': give either steps= (swap some) or pipeline= (replace all), not both")
        self._name = name
        self._steps: dict[str, PipelineStep] | None = None
        self._pipeline: Pipeline | None = None
        self.values = values
        self.datasource = datasource
        self.steps = steps
        self.pipeline = pipeline

    @property
    def name(self) -> str:
        """The condition's name; fixed once the treatment is built (it is how sets,
        dicts, results and the run store know the treatment)."""
        return self._name

    @name.setter
    def name(self, value: object) -> None:
        raise AttributeError(
            f"Treatment '{self._name}': a treatment's name cannot be changed after it is built "
            f"(sets, dicts and stored runs know it by that name); build a new one instead, e.g. "
            f"Treatment({value!r}, t.values, datasource=t.datasource, steps=t.steps, pipeline=t.pipeline)"
        )

    @property
    def values(self) -> dict[str, Any] | Callable[[FrozenContext], Any] | None:
        """The values set in each replicate's context (a dict), or the function
        ``fn(ctx)`` setting them. Read when each replicate starts, so a change (in place,
        or by assigning a new mapping or function) applies to the next run, as it does to
        the run's stored config (change them between runs, not during one). A mapping
        assigned is kept as a dict copy."""
        return self._values

    @values.setter
    def values(self, values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None) -> None:
        if values is not None and not (isinstance(values, Mapping) or callable(values)):
            raise TypeError(
                f"Treatment '{self._name}' values must be a mapping or a callable fn(ctx), "
                f"got {type(values).__name__}"
            )
        if values is not None and not isinstance(values, Mapping):
            from crystallize.utils.signatures import check_callable

            check_callable(
                values,
                ("ctx",),
                what=f"Treatment '{self._name}' function",
                call="fn(ctx) with the replicate's context",
                example=f"def {_identifier(self._name)}(ctx): ctx.add('delta', 10) "
                f"(or give the values themselves: treatment({self._name!r}, {{'delta': 10}}))",
                synchronous=True,
            )
        self._values = dict(values) if isinstance(values, Mapping) else values

    @property
    def datasource(self) -> DataSource | None:
        """The datasource this condition uses instead of the experiment's (``None``: the
        experiment's). May be assigned after construction; checked as the argument is."""
        return self._datasource

    @datasource.setter
    def datasource(self, datasource: DataSource | None) -> None:
        if datasource is not None and not hasattr(datasource, "fetch"):
            raise TypeError(
                f"Treatment '{self._name}' datasource must be a DataSource (did you pass the factory "
                f"instead of calling it?), got {datasource!r}"
            )
        self._datasource = datasource

    @property
    def steps(self) -> dict[str, PipelineStep] | None:
        """``{step name: replacement step}`` swapped in for this condition, or ``None``.
        May be assigned after construction (kept as a dict copy); checked as the argument
        is, and refused while :attr:`pipeline` is set."""
        return self._steps

    @steps.setter
    def steps(self, steps: Mapping[str, PipelineStep] | None) -> None:
        if steps is not None:
            if self._pipeline is not None:
                raise ValueError(
                    f"Treatment '{self._name}': give either steps= (swap some) or pipeline= (replace all), "
                    "not both; set pipeline to None first"
                )
            if not isinstance(steps, Mapping):
                raise TypeError(f"Treatment '{self._name}' steps must map step names to replacement steps")
            _check_replacements(self._name, steps)
        self._steps = dict(steps) if steps is not None else None

    @property
    def pipeline(self) -> Pipeline | None:
        """The whole pipeline this condition runs instead of the experiment's, or
        ``None``. May be assigned after construction (a list of steps becomes a
        :class:`~crystallize.pipeline.Pipeline`, checked as it is); refused while
        :attr:`steps` is set."""
        return self._pipeline

    @pipeline.setter
    def pipeline(self, pipeline: Pipeline | Sequence[PipelineStep] | None) -> None:
        if pipeline is not None:
            if self._steps is not None:
                raise ValueError(
                    f"Treatment '{self._name}': give either steps= (swap some) or pipeline= (replace all), "
                    "not both; set steps to None first"
                )
            if not hasattr(pipeline, "steps"):
                from crystallize.pipeline import Pipeline

                pipeline = Pipeline(pipeline)
        self._pipeline = pipeline

    @property
    def computes_values(self) -> bool:
        """True when the treatment's values come from a function ``fn(ctx)``."""
        return self._values is not None and type(self._values) is not dict

    @property
    def reshapes(self) -> bool:
        """True when the treatment changes the datasource or the steps, not only values."""
        return self.datasource is not None or self.steps is not None or self.pipeline is not None

    def apply(self, ctx: FrozenContext) -> None:
        """Apply the treatment's current values to ``ctx`` (used by the engine before fetch)."""
        values = self._values  # read now: a change after construction applies
        if type(values) is dict:  # the setter keeps every mapping as a dict
            data = ctx._data
            data |= values  # cheaper than .update() or a loop (no method lookup)
        elif values is not None:
            before = dict(ctx._data)  # to tell a function that set nothing (callables only)
            returned = values(ctx)
            if returned is not None and returned is not ctx:  # ctx.override(...) returns ctx
                self._check_returned(returned, ctx, before)

    def _check_returned(self, returned: object, ctx: FrozenContext, before: dict[str, Any]) -> None:
        """Raise TypeError when the treatment function returned values instead of setting
        them: a mapping, while the context is as ``before`` it ran (no key added, none
        given another value), which would make the treatment a silent no-op; or an
        awaitable (an ``async`` callable object never awaited). Other return values, and
        a mapping from a function that did set values, are ignored."""
        import inspect

        if inspect.isawaitable(returned):
            close = getattr(returned, "close", None)
            if close is not None:
                close()  # no "never awaited" warning on top of this error
            raise TypeError(
                f"Treatment '{self._name}': its function returned an awaitable (is it async?); "
                "treatment functions are called without being awaited, so define fn(ctx) "
                "with a plain def that sets the values"
            )
        if not isinstance(returned, Mapping):
            return
        data = ctx._data
        if len(data) != len(before) or any(data.get(key, _UNSET) is not value for key, value in before.items()):
            return  # it set values: what it returns as well is its own business
        unset = [key for key, value in returned.items() if not _holds(data, key, value)]
        if unset:
            first = unset[0]
            value = _short_repr(returned[first])
            given = _short_repr(dict(returned), 120)
            named = isinstance(first, str) and first.isidentifier()
            keyword = f"{first}={value}" if named else f"**{{{first!r}: {value}}}"
            raise TypeError(
                f"Treatment '{self._name}': its function returned the values {given} instead of "
                "setting them in the context, so the treatment would change nothing. Set them in "
                f"the function, ctx.add({first!r}, {value}) (ctx.override({keyword}) for a key "
                f"the context already has), or give the mapping itself as the values: "
                f"treatment({self._name!r}, {given})"
            )

    def own_steps(self) -> list[PipelineStep]:
        """The steps this treatment brings: its swapped-in steps or its whole pipeline."""
        if self.pipeline is not None:
            return list(self.pipeline.steps)
        return list((self.steps or {}).values())

    def resolve_steps(self, base: Sequence[PipelineStep]) -> list[PipelineStep]:
        """The steps this condition runs, given the experiment's ``base`` steps.

        Raises:
            ValueError: when ``steps`` names a step the pipeline does not have.
        """
        if self.pipeline is not None:
            return list(self.pipeline.steps)
        if not self.steps:
            return list(base)
        names = [step.name for step in base]
        unknown = [name for name in self.steps if name not in names]
        if unknown:
            raise ValueError(
                f"Treatment '{self.name}' swaps step(s) {', '.join(map(repr, unknown))}, but the "
                f"pipeline has: {', '.join(map(repr, names)) or 'no steps'}"
            )
        return [self.steps.get(step.name, step) for step in base]

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (("datasource", self.datasource), ("steps", self.steps), ("pipeline", self.pipeline))
            if v is not None
        )
        return f"Treatment({self.name!r}, {self.values!r}{extra})"

    def __eq__(self, other: object) -> bool:
        """Equal name and values, and datasource and steps the run fingerprint cannot
        tell apart (see :func:`_identity`): a copy or an unpickled treatment equals
        its original."""
        if not isinstance(other, Treatment):
            return NotImplemented
        if other.name != self.name or other.values != self.values:
            return False
        if not self.reshapes and not other.reshapes:
            return True
        return (
            _identity(other.datasource) == _identity(self.datasource)
            and _identity(other.steps) == _identity(self.steps)
            and _identity(other.pipeline) == _identity(self.pipeline)
        )

    def __hash__(self) -> int:
        return hash(self._name)  # the name is read-only


def _identity(part: Any) -> Any:
    """What the run fingerprint knows a treatment's datasource, step, ``steps`` mapping
    or pipeline by: a step's or datasource's class, name, code, parameters and (for a
    class-based one) attributes; the object itself when they cannot be digested."""
    if part is None:
        return None
    if isinstance(part, Mapping):
        return {name: _identity(step) for name, step in part.items()}
    if hasattr(part, "steps"):  # a Pipeline
        return tuple(_identity(step) for step in part.steps)
    from crystallize.fingerprint import UNHASHABLE_STATE, code_hash, param_digest, state_digest

    params = param_digest(dict(getattr(part, "params", None) or {}))
    state = state_digest(part)
    if params is None or state == UNHASHABLE_STATE:
        return part
    return (type(part), getattr(part, "name", None), code_hash(part), params, state)


_UNSET = object()


def _holds(data: Mapping[str, Any], key: Any, value: Any) -> bool:
    """Whether ``data`` already has ``value`` under ``key`` (a treatment function that set
    its values and also returned them); a comparison that fails counts as held."""
    if key not in data:
        return False
    current = data[key]
    if current is value:
        return True
    try:
        return bool(current == value)
    except Exception:  # arrays and other values without a truth value
        return True


def _short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` for a message, cut at ``limit`` characters (``...`` when it is)."""
    try:
        text = repr(value)
    except Exception:
        return "..."
    return text if len(text) <= limit else "..."


def _identifier(name: str) -> str:
    """``name`` as a function name for an example in a message."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_")
    return cleaned if cleaned.isidentifier() else "set_values"


def _check_replacements(name: str, steps: Mapping[str, Any]) -> None:
    """Raise TypeError when a ``steps=`` replacement is not a step (say, an uncalled factory)."""
    from crystallize.pipeline import step_problem

    for step_name, step in steps.items():
        problem = step_problem(step)
        if problem is not None:
            raise TypeError(f"Treatment '{name}' replaces step '{step_name}' with {step!r}, {problem}")


def treatment(
    name: str,
    values: Mapping[str, Any] | Callable[[FrozenContext], Any] | None = None,
    *,
    datasource: DataSource | None = None,
    steps: Mapping[str, PipelineStep] | None = None,
    pipeline: Pipeline | Sequence[PipelineStep] | None = None,
) -> Treatment:
    """Return a :class:`Treatment` named ``name`` (see its arguments)."""
    return Treatment(name, values, datasource=datasource, steps=steps, pipeline=pipeline)


__all__ = ["BASELINE", "ENGINE_KEYS", "Treatment", "treatment"]
