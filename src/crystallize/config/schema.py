"""The shape of ``config.yaml``, checked with pydantic before anything is imported or run.

:func:`~crystallize.config.validate.validate_document` turns a parsed :class:`~crystallize.config.yaml_io.YamlDocument`
into an :class:`ExperimentConfig`, or raises one
:class:`~crystallize.config.errors.ConfigValidationError` listing every structural
problem (unknown keys with suggestions, wrong types, missing fields) with its field path
and line. Whether the names used (steps, datasources, verifiers...) exist is checked
later, against the folder's Python modules (:mod:`crystallize.config.build`); :mod:`crystallize.config.validate` turns pydantic's
errors into readable problems.
"""

from __future__ import annotations

import keyword
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from crystallize.condition_names import padded, padded_problem, treatment_name_problems
from crystallize.config.errors import did_you_mean, path_problem, quoted_path
from crystallize.config.yaml_io import FieldPath, dump_config_text
from crystallize.experiment_checks import MAX_REPLICATES
from crystallize.plugins.execution import STRATEGY_NAMES
from crystallize.store.artifacts import validate_artifact_name
from crystallize.treatment import ENGINE_KEYS
from crystallize.utils.text import control_character

#: Context keys the engine sets for every replicate; treatments may not change them.
RESERVED_CONTEXT_KEYS = ENGINE_KEYS
#: ``plugins.execution`` options and the strategies that use them (others reject them).
STRATEGY_OPTIONS = {"workers": ("thread", "process", "async", "ray"), "address": ("ray",)}
CORRECTIONS = ("holm", "bonferroni", "fdr_bh")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# -- small value types -----------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """A name from one of the folder's modules, with keyword arguments for its factory.

    Written in YAML as ``name`` or ``{name: {param: value, ...}}``.

    Attributes:
        name: the function name (or ``experiment#output`` for a datasource that reads
            another experiment's output).
        kwargs: keyword arguments for the factory.
    """

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def upstream(self) -> tuple[str, str] | None:
        """``(experiment, output)`` for an ``experiment#output`` reference, else ``None``."""
        if "#" not in self.name:
            return None
        experiment, _, output = self.name.partition("#")
        return experiment, output


def describe(value: Any) -> str:
    """``'ten' (a string)``: a value and its YAML type, for error messages."""
    kinds = {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "a list", dict: "a mapping", type(None): "null",
    }
    kind = kinds.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("config", message)


_QUOTE_KEY = "; quote the key to make it a string"


def _call_parser(kind: str, *, upstream: bool = False) -> typing.Callable[[Any], Call]:
    example = f"{{{kind}_name: {{param: value}}}}"

    def parse(value: Any) -> Call:
        if isinstance(value, Call):
            return value
        if isinstance(value, str):
            name, kwargs = value, {}
        elif isinstance(value, dict):
            if len(value) != 1:
                raise _fail(
                    f"expected one {kind} name with its parameters, like {example}, "
                    f"got a mapping with {len(value)} keys ({', '.join(map(str, value)) or 'none'})"
                )
            ((name, kwargs),) = value.items()
            if not isinstance(name, str):
                raise _fail(f"expected a {kind} name, got {describe(name)}{_QUOTE_KEY}")
            if kwargs is None:
                kwargs = {}
            if not isinstance(kwargs, dict):
                raise _fail(
                    f"the parameters of '{name}' must be a mapping {{param: value}}, got "
                    f"{describe(kwargs)}"
                )
            bad = [k for k in kwargs if not isinstance(k, str)]
            if bad:
                raise _fail(f"parameter names of '{name}' must be strings, got {describe(bad[0])}{_QUOTE_KEY}")
        else:
            raise _fail(f"expected a {kind} name or {example}, got {describe(value)}")
        name = name.strip()
        if not name:
            raise _fail(f"expected a {kind} name, got an empty string")
        call = Call(name, dict(kwargs))
        if "#" in name:
            experiment, output = call.upstream or ("", "")
            if not upstream:
                raise _fail(f"'{name}': only a datasource can reference another experiment's output")
            if not experiment or not output or "#" in output:
                raise _fail(f"'{name}': expected 'experiment#output', e.g. 'producer#result'")
            if kwargs:
                raise _fail(f"'{name}': a reference to another experiment's output takes no parameters")
        return call

    return parse


@dataclass(frozen=True)
class _Aliased:
    """One ``alias: source`` entry of the top-level ``datasource:``, before parsing."""

    alias: str
    source: Any


def _datasource_mapping(value: Any) -> Any:
    if isinstance(value, str):  # shorthand: one datasource, aliased by its own name
        return {value: value}
    if value is None:
        raise _fail("expected a datasource: a factory name from datasources.py, 'experiment#output', or a mapping alias -> one of those")
    if isinstance(value, dict):
        return {alias: _Aliased(alias, source) for alias, source in value.items()}
    return value


def aliased_source_hint(alias: Any, params: Any) -> str:
    """How to give the source aliased ``alias`` the parameters ``params``, for error messages."""
    # Written as config.yaml reads it back ('1e3' quoted); the outer braces dropped.
    entry = dump_config_text({alias: {alias: params}}, default_flow_style=True).strip()[1:-1]
    return (
        "a source with arguments is written alias: {factory: {param: value}}; "
        f"if '{alias}' is the factory in datasources.py, write {entry}"
    )


_parse_datasource = _call_parser("datasource", upstream=True)


def _datasource_entry(value: Any) -> Call:
    """Parse one source of ``datasource:``; parameters written directly under the alias
    (``numbers: {n: 10}``) get an error showing the ``alias: {factory: {params}}`` form."""
    if not isinstance(value, _Aliased):
        return _parse_datasource(value)
    source = value.source
    if isinstance(source, dict) and len(source) > 1:
        keys = ", ".join(map(str, source))
        raise _fail(
            f"expected one datasource name with its parameters, got a mapping with {len(source)} keys "
            f"({keys}); {aliased_source_hint(value.alias, source)}"
        )
    if isinstance(source, dict) and len(source) == 1:
        ((name, params),) = source.items()
        if params is not None and not isinstance(params, dict):
            raise _fail(
                f"'{name}' reads as a factory name whose parameters are {describe(params)}, but "
                f"parameters must be a mapping; {aliased_source_hint(value.alias, source)}"
            )
    return _parse_datasource(source)


def _metric_list(value: Any) -> Any:
    """``metrics:`` one metric name or a non-empty list of them; a blank name is refused,
    named as it was written (``metrics: ""``, or ``metrics[1]`` of a list)."""
    expected = "expected a metric name or a non-empty list of metric names"
    if isinstance(value, str):
        if not value.strip():
            raise _fail(f"{expected}, got {_blank(value)}")
        return [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(f"{expected}, got {describe(value)}")
    blank = [index for index, name in enumerate(value) if not name.strip()]
    if blank:
        raise _fail(f"{expected}, but metrics[{blank[0]}] is {_blank(value[blank[0]])}")
    return value


def _blank(text: str) -> str:
    """``an empty string`` or ``a blank string '   '``, for messages."""
    return "an empty string" if not text else f"a blank string {text!r}"


def _hypothesis_name(value: Any) -> Any:
    """``hypotheses[].name:`` required, a string that is not empty or blank."""
    if not isinstance(value, str):
        raise _fail(f"expected a string, got {describe(value)}")
    if not value.strip():
        raise _fail(
            f"the hypothesis name is {_blank(value)}: give each hypothesis a name of its own "
            "(it labels the hypothesis in reports and results)"
        )
    return value


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot name an experiment, or ``None`` when it can."""
    if padded(value):
        return padded_problem("the name", value)
    bad = [c for c in ("/", "\\", "#") if c in value]
    if not value.strip() or value in (".", "..") or bad or control_character(value) is not None:
        return (
            f"{value!r} cannot name an experiment: it becomes a directory name in the artifact "
            "store, so it must not be empty, '.' or '..', nor contain '/', '\\', '#' or control "
            "characters"
        )
    return None


def _experiment_name(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"expected a string, got {describe(value)}")
    problem = name_problem(value)
    if problem:
        raise _fail(problem)
    return value


def _non_empty_steps(value: Any) -> Any:
    if value == []:
        raise _fail("list at least one step")
    return value


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


def _log_level(value: Any) -> Any:
    if isinstance(value, str) and value.upper() in LOG_LEVELS:
        return value.upper()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    hint = did_you_mean(str(value).upper(), LOG_LEVELS) if isinstance(value, str) else ""
    raise _fail(f"expected one of {', '.join(LOG_LEVELS)} or a level number >= 0, got {describe(value)}{hint}")


def _call_yaml(call: Call) -> Any:
    """A Call as written in YAML: ``name`` or ``{name: {param: value}}``."""
    return {call.name: dict(call.kwargs)} if call.kwargs else call.name


_AS_YAML = PlainSerializer(_call_yaml)
StepCall = Annotated[Call, PlainValidator(_call_parser("step")), _AS_YAML]
DatasourceCall = Annotated[Call, PlainValidator(_parse_datasource), _AS_YAML]
DatasourceEntry = Annotated[Call, PlainValidator(_datasource_entry), _AS_YAML]
VerifierCall = Annotated[Call, PlainValidator(_call_parser("verifier")), _AS_YAML]


# -- models ---------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


#: The parts of a structured treatment and the YAML shapes each may take.
_TREATMENT_PARTS: dict[str, tuple[type, ...]] = {
    "values": (dict, type(None)),
    "datasource": (str, dict),
    "steps": (dict,),
    "pipeline": (list,),
}


def _is_structured_treatment(value: Any) -> bool:
    """True when every key of ``value`` is a treatment part holding a value of that part's shape."""
    return isinstance(value, dict) and bool(value) and all(
        key in _TREATMENT_PARTS and isinstance(part, _TREATMENT_PARTS[key]) for key, part in value.items()
    )


def _treatment_form(value: Any) -> Any:
    """``name: {key: value}`` (context values) or the structured form with values /
    datasource / steps / pipeline. A mapping is the structured form only when all its
    keys are among those four and each has that part's shape (``{steps: 1000}`` is a
    context value); context keys of those names and shapes go under ``values:``."""
    value = _empty_if_null(value)
    if _is_structured_treatment(value):
        return value
    _refuse_half_structured(value)
    return {"values": value}


def _refuse_half_structured(value: Any) -> None:
    """Refuse a mapping that holds a part in that part's shape (``steps: {fit: ...}``)
    beside keys that are no part: most likely a misspelt part (``valeus:``), which would
    otherwise turn the whole treatment into context values and run it like the baseline.
    Context keys named like parts go under ``values:`` (as documented)."""
    if not isinstance(value, dict):
        return
    shaped = [key for key, part in value.items() if key in _TREATMENT_PARTS and isinstance(part, _TREATMENT_PARTS[key])]
    others = [str(key) for key in value if key not in _TREATMENT_PARTS]
    if not shaped or not others:
        return
    from crystallize.utils.text import closest

    hints = []
    for key in others:
        match = closest(key, _TREATMENT_PARTS)
        hints.append(f"'{key}' (did you mean '{match}'?)" if match else f"'{key}'")
    parts = ", ".join(_TREATMENT_PARTS)
    raise ValueError(
        f"{', '.join(repr(k) for k in shaped)} make{'s' if len(shaped) == 1 else ''} this a "
        f"structured treatment ({parts}), but "
        f"{', '.join(hints)} {'is' if len(others) == 1 else 'are'} no part of one; put context "
        "values under values: (context keys named like parts too)"
    )


class TreatmentSpec(_Model):
    """``treatments.<name>:`` context values, and optionally another datasource, swapped
    steps (``{step_name: replacement}``) or a whole other pipeline."""

    values: Annotated[dict[str, Any], BeforeValidator(_empty_if_null)] = {}
    datasource: DatasourceCall | None = None
    steps: dict[str, StepCall] | None = None
    pipeline: list[StepCall] | None = None

    def model_post_init(self, context: Any) -> None:
        """``steps`` swaps some steps and ``pipeline`` replaces all: not both."""
        if self.steps is not None and self.pipeline is not None:
            raise ValueError("give either steps (swap some) or pipeline (replace all), not both")


def _empty_treatment_parts(name: str, spec: TreatmentSpec) -> list[tuple[FieldPath, str]]:
    """An empty ``pipeline: []`` (nothing to run or measure) or ``steps: {}`` (swaps no
    step) of treatment ``name``: refused, as a top-level ``steps: []`` is, rather than
    run as a condition that records nothing or runs like the baseline."""
    problems: list[tuple[FieldPath, str]] = []
    if spec.pipeline is not None and not spec.pipeline:
        problems.append((
            ("treatments", name, "pipeline"),
            f"treatment '{name}' has an empty pipeline: list at least one step (there would be nothing "
            "to run or measure), or leave pipeline out to run the experiment's steps (a context "
            "value named 'pipeline' goes under values:)",
        ))
    if spec.steps is not None and not spec.steps:
        problems.append((
            ("treatments", name, "steps"),
            f"treatment '{name}' swaps no step (steps is empty): name the steps to swap as "
            "{step_name: replacement}, or leave steps out to run the experiment's steps (a context "
            "value named 'steps' goes under values:)",
        ))
    return problems


class CliSpec(_Model):
    """``cli:`` how the command line lists the experiment."""

    group: str | None = None
    priority: int = 0
    icon: str | None = None
    color: str | None = None
    hidden: bool = False


class OutputSpec(_Model):
    """``outputs.<alias>:`` an artifact file steps write (and other experiments read)."""

    file_name: str | None = None
    loader: str | None = None
    writer: str | None = None

    @field_validator("file_name")
    @classmethod
    def _valid_file_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                validate_artifact_name(value)
            except ValueError as exc:
                raise _fail(str(exc)) from None
        return value


class HypothesisSpec(_Model):
    """``hypotheses[i]:`` a verifier applied to metrics, ranked, optionally corrected."""

    name: Annotated[str, PlainValidator(_hypothesis_name)]
    verifier: VerifierCall
    metrics: Annotated[list[str], BeforeValidator(_metric_list)]
    correction: Literal["holm", "bonferroni", "fdr_bh"] | None = None
    ranker: str | None = None


class SeedSpec(_Model):
    """``plugins.seed:`` arguments of :class:`~crystallize.plugins.seed.SeedPlugin`."""

    seed: Annotated[int, Field(ge=0)] | None = None
    auto_seed: bool = True


class ExecutionSpec(_Model):
    """``plugins.execution:`` which execution plugin runs the replicates."""

    strategy: Literal[STRATEGY_NAMES] = "serial"  # type: ignore[valid-type]
    workers: Annotated[int, Field(ge=1)] | None = None
    address: str | None = None

    @field_validator("workers", "address")
    @classmethod
    def _used_by_strategy(cls, value: Any, info: ValidationInfo) -> Any:
        """An option the chosen strategy would ignore is an error, not silently dropped."""
        users = STRATEGY_OPTIONS[str(info.field_name)]
        strategy = info.data.get("strategy", users[0])  # a bad strategy is reported on its own
        if value is not None and strategy not in users:
            names = ", ".join(users[:-1]) + f" or {users[-1]}" if len(users) > 1 else users[0]
            raise _fail(f"'{info.field_name}' is used only with strategy: {names} (strategy is {strategy!r})")
        return value


#: Words YAML 1.1 read as booleans; YAML 1.2 (config.yaml, ``--set``) reads them as strings.
YAML11_BOOLEANS = frozenset({"y", "n", "yes", "no", "on", "off"})


def yaml11_boolean_hint(value: Any) -> str:
    """`` (YAML 1.2 reads yes/no/on/off as strings: write true or false)`` when ``value``
    is such a word given where true or false is expected, else ``""``."""
    if isinstance(value, str) and value.lower() in YAML11_BOOLEANS:
        return " (YAML 1.2 reads yes/no/on/off as strings: write true or false)"
    return ""


class ArtifactsSpec(_Model):
    """``plugins.artifacts:`` arguments of :class:`~crystallize.plugins.artifacts.ArtifactPlugin`."""

    root_dir: str | None = "data"
    versioned: bool = False

    @field_validator("root_dir")
    @classmethod
    def _a_path(cls, value: str | None) -> str | None:
        problem = root_dir_problem(value) if value is not None else None
        if problem is not None:
            raise _fail(problem)
        return value


def root_dir_problem(value: str) -> str | None:
    """Why ``value`` cannot be a ``root_dir`` (blank, holding a NUL byte, too long for
    the file system), as the words after ``root_dir:``; ``None`` when it can. Shared by
    config.yaml and ``--set plugins.artifacts.root_dir``."""
    if not value.strip():
        return (
            "is blank: give a directory (relative to the working directory), '.' for the "
            "working directory itself, or null for no store"
        )
    problem = path_problem(value)
    return None if problem is None else f"{quoted_path(value)} {problem}"


class LoggingSpec(_Model):
    """``plugins.logging:`` arguments of :class:`~crystallize.plugins.logging.LoggingPlugin`."""

    verbose: bool = False
    log_level: Annotated[str | int, PlainValidator(_log_level)] = "INFO"


class PluginsSpec(_Model):
    """``plugins:`` the four built-in plugins' settings."""

    seed: SeedSpec = SeedSpec()
    execution: ExecutionSpec = ExecutionSpec()
    artifacts: ArtifactsSpec = ArtifactsSpec()
    logging: LoggingSpec = LoggingSpec()


class ExperimentConfig(_Model):
    """A whole ``config.yaml``."""

    name: Annotated[str | None, PlainValidator(_experiment_name)] = None
    description: str | None = None
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)] = 1
    cli: CliSpec = CliSpec()
    datasource: Annotated[dict[str, DatasourceEntry], BeforeValidator(_datasource_mapping), Field(min_length=1)]
    steps: Annotated[list[StepCall], BeforeValidator(_non_empty_steps)]
    outputs: dict[str, OutputSpec] = {}
    treatments: dict[str, Annotated[TreatmentSpec, BeforeValidator(_treatment_form)]] = {}
    hypotheses: list[HypothesisSpec] = []
    initial_ctx: dict[str, Any] = {}
    plugins: PluginsSpec = PluginsSpec()

    def model_post_init(self, context: Any) -> None:
        """Cross-field checks: output aliases, reserved names, unique hypothesis names."""
        problems: list[tuple[FieldPath, str]] = []
        for alias in self.outputs:
            if not alias.isidentifier() or keyword.iskeyword(alias):
                problems.append(
                    (("outputs", alias), f"'{alias}' cannot be an output alias: a step receives the "
                     "output through a keyword parameter of that name, so use a Python identifier")
                )
        for name, spec in self.treatments.items():
            if not name.strip():
                problems.append((
                    ("treatments", name),
                    f"the treatment name is {_blank(name)}: give the treatment a name (it labels "
                    "the condition in tables, reports and the store)",
                ))
                continue
            if name == "baseline":
                problems.append((("treatments", name), "'baseline' is the untreated condition; give the treatment another name"))
            control = control_character(name)
            if control is not None:
                problems.append((("treatments", name), f"the treatment name contains the control character {control}; use printable text"))
            problems += _empty_treatment_parts(name, spec)
            for key in spec.values:
                if key in RESERVED_CONTEXT_KEYS:
                    problems.append(
                        (("treatments", name, key), f"'{key}' is set by the engine for every replicate; a treatment cannot change it")
                    )
        problems += [(("treatments", name), problem) for name, problem in treatment_name_problems(list(self.treatments))]
        for key in self.initial_ctx:
            if key in RESERVED_CONTEXT_KEYS:
                problems.append((("initial_ctx", key), f"'{key}' is set by the engine for every replicate"))
        seen: set[str] = set()
        for index, hyp in enumerate(self.hypotheses):
            if hyp.name in seen:
                problems.append((("hypotheses", index, "name"), f"the hypothesis name '{hyp.name}' is used twice"))
            seen.add(hyp.name)
        if problems:
            raise PostProblems(problems)


class PostProblems(Exception):
    """Cross-field problems found after the structure validated (several at once)."""

    def __init__(self, problems: list[tuple[FieldPath, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


__all__ = [
    "CORRECTIONS",
    "RESERVED_CONTEXT_KEYS",
    "STRATEGY_OPTIONS",
    "ArtifactsSpec",
    "Call",
    "CliSpec",
    "ExecutionSpec",
    "ExperimentConfig",
    "HypothesisSpec",
    "LoggingSpec",
    "OutputSpec",
    "PostProblems",
    "PluginsSpec",
    "SeedSpec",
    "aliased_source_hint",
    "describe",
    "name_problem",
]
