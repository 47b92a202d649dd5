"""Turning a validated config and the folder's modules into an :class:`~crystallize.Experiment`.

Every name the config uses is looked up here, before anything runs. Problems are
collected, not raised one at a time, so a user sees every unknown step, verifier or
datasource (with a did-you-mean suggestion) in one error.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

from crystallize.artifacts import Artifact
from crystallize.config.errors import ConfigValidationError, Problem, did_you_mean
from crystallize.config.misnamed import KINDS, elsewhere, misnamed
from crystallize.config.modules import (
    FolderModules,
    datasource_factories,
    exit_description,
    plain_functions,
    step_factories,
    verifier_factories,
)
from crystallize.config.schema import (
    STRATEGY_OPTIONS,
    Call,
    ExperimentConfig,
    HypothesisSpec,
    LoggingSpec,
    PluginsSpec,
    aliased_source_hint,
)
from crystallize.config.upstream import CombinedSource, UpstreamOutput, expanded_root
from crystallize.config.validate import format_path
from crystallize.config.yaml_io import FieldPath, YamlDocument
from crystallize.datasource import DataSource
from crystallize.exceptions import StoreError
from crystallize.experiment import Experiment
from crystallize.hypothesis import Hypothesis
from crystallize.pipeline_step import PipelineStep, callable_signature, takes_context
from crystallize.plugins import (
    ArtifactPlugin,
    AsyncExecution,
    BasePlugin,
    LoggingPlugin,
    ParallelExecution,
    SeedPlugin,
    SerialExecution,
)
from crystallize.treatment import Treatment
from crystallize.utils.text import exception_summary


class Builder:
    """Builds the parts of one folder experiment, collecting problems.

    Args:
        doc: the parsed ``config.yaml`` (for file name and line numbers).
        config: the validated config.
        modules: the folder's freshly imported modules.
        upstream: ``{name: Experiment}`` of the experiments this one reads outputs from.
    """

    def __init__(
        self,
        doc: YamlDocument,
        config: ExperimentConfig,
        modules: FolderModules,
        upstream: Mapping[str, Experiment],
    ) -> None:
        self.doc = doc
        self.config = config
        self.modules = modules
        self.upstream = dict(upstream)
        self.problems: list[Problem] = []

    # -- problems ---------------------------------------------------------------------------
    def problem(self, path: FieldPath, message: str) -> None:
        """Record a problem at ``path`` of config.yaml."""
        self.problems.append(Problem(self.doc.path, format_path(path), message, self.doc.line_of(path)))

    def check(self) -> None:
        """Raise the collected problems, if any."""
        if self.problems:
            raise ConfigValidationError(sorted(self.problems, key=lambda p: p.line or 0))

    def _lookup(self, path: FieldPath, call: Call, registry: Mapping[str, Any], kind: str, file: str) -> Any:
        factory = registry.get(call.name)
        if factory is not None:
            return factory
        if file and self.modules.get(file.removesuffix(".py")) is None:
            self.problem(path, f"no {kind} named '{call.name}': {file} does not exist in {self.modules.folder}")
        else:
            self.problem(path, self._not_found(call.name, registry, kind, file))
        return None

    def _not_found(self, name: str, registry: Mapping[str, Any], kind: str, file: str, searched: str = "") -> str:
        """The problem of a ``kind`` named ``name`` not found in ``file``: what the name is
        there or in a sibling file when it is defined but not as that kind (an undecorated
        function, another kind of factory), else a did-you-mean.

        ``searched`` describes where the name was looked up, when more than ``file``.
        """
        stem = file.removesuffix(".py")
        module = self.modules.get(stem)
        if kind in KINDS and module is not None and hasattr(module, name):
            reason = misnamed(name, getattr(module, name), kind, file)
            if reason is not None:
                return reason
        head = f"no {kind} named '{name}' in {searched or file}"
        siblings = self.modules.modules.items() if kind in KINDS else ()
        for other, sibling in siblings:
            hint = elsewhere(name, sibling, kind, file, f"{other}.py") if other != stem else None
            if hint is not None:
                return f"{head}; {hint}"
        return head + did_you_mean(name, registry, what=f"{kind}s")

    def _known_kwargs(self, path: FieldPath, kind: str, call: Call, accepted: dict[str, inspect.Parameter] | None) -> bool:
        """Check ``call.kwargs`` against the parameters the factory accepts (``None``: anything)."""
        if accepted is None:
            return True
        unknown = [name for name in call.kwargs if name not in accepted]
        for name in unknown:
            listed = ", ".join(accepted) or "no parameters"
            self.problem(
                path,
                f"{kind} '{call.name}' has no parameter '{name}'"
                + did_you_mean(name, accepted)
                + f" (it accepts: {listed})",
            )
        return not unknown

    def _make(self, path: FieldPath, factory: Callable[..., Any], call: Call, kwargs: dict[str, Any]) -> Any:
        """Call ``factory(**kwargs)``; whatever it raises (or a ``sys.exit``) becomes a problem."""
        try:
            return factory(**kwargs)
        except (Exception, SystemExit) as exc:  # user code: report it as a config problem
            self._factory_failed(path, call, kwargs, exc)
            return None

    def _factory_failed(self, path: FieldPath, call: Call, kwargs: dict[str, Any], exc: BaseException) -> None:
        """Record that building ``call`` raised ``exc`` (or exited)."""
        head = f"{call.name}({_args(kwargs)})"
        if isinstance(exc, SystemExit):
            self.problem(
                path,
                f"{head} {exit_description(exc)} while the experiment was being built "
                "(sys.exit() or argparse's parse_args() ran inside it); build objects "
                "without exiting, and keep script code under 'if __name__ == \"__main__\":'",
            )
        else:
            self.problem(path, f"{head} failed: {exception_summary(exc)}")

    def _make_verifier(self, path: FieldPath, factory: Callable[..., Any], call: Call) -> Any:
        """Build a verifier; a built-in's bad argument value is reported at that argument."""
        from crystallize.stats import VerifierArgumentError

        try:
            return factory(**call.kwargs)
        except VerifierArgumentError as exc:
            if exc.argument in call.kwargs:
                self.problem((*path, call.name, exc.argument), str(exc))
            else:
                self._factory_failed(path, call, call.kwargs, exc)
        except (Exception, SystemExit) as exc:
            self._factory_failed(path, call, call.kwargs, exc)
        return None

    # -- parts ------------------------------------------------------------------------------
    def outputs(self) -> dict[str, Artifact]:
        """``{alias: Artifact}`` from ``outputs:`` (loader/writer looked up in outputs.py)."""
        functions = plain_functions(self.modules.get("outputs"))
        artifacts = {}
        for alias, spec in self.config.outputs.items():
            spec_fns: dict[str, Any] = {}
            for role in ("loader", "writer"):
                name = getattr(spec, role)
                if name is None:
                    spec_fns[role] = None
                    continue
                fn = self._lookup(("outputs", alias, role), Call(name), functions, "function", "outputs.py")
                spec_fns[role] = fn
            artifacts[alias] = Artifact(spec.file_name or alias, loader=spec_fns["loader"], writer=spec_fns["writer"])
        return artifacts

    def datasource(self) -> DataSource | None:
        """The datasource: one source, or a :class:`CombinedSource` for several aliases."""
        registry = datasource_factories(self.modules.get("datasources"))
        sources: dict[str, DataSource] = {}
        for alias, call in self.config.datasource.items():
            path = ("datasource", alias)
            if call.upstream is not None:
                source = self._upstream_source(path, *call.upstream)
            elif call.name not in registry and alias in registry:
                source = self._parameters_under_alias(path, alias, call)
            else:
                factory = self._lookup(path, call, registry, "datasource", "datasources.py")
                source = None
                if factory is not None and self._known_kwargs(path, "datasource", call, factory_parameters(factory, "__crystallize_datasource__", 1)):
                    source = self._make(path, factory, call, call.kwargs)
            if source is not None:
                sources[alias] = source
        if len(sources) != len(self.config.datasource):
            return None
        if len(sources) == 1:
            return next(iter(sources.values()))
        return CombinedSource(sources)

    def _parameters_under_alias(self, path: FieldPath, alias: str, call: Call) -> None:
        """Report ``numbers: {n: {...}}``: a factory's parameters written under its alias."""
        self.problem(
            path,
            f"no datasource named '{call.name}' in datasources.py; "
            + aliased_source_hint(alias, {call.name: call.kwargs or None}),
        )

    def _upstream_source(self, path: FieldPath, name: str, output: str) -> UpstreamOutput | None:
        from crystallize.fingerprint import fingerprint, spec_of

        upstream = self.upstream[name]
        declared: Mapping[str, Artifact] = getattr(upstream, "outputs", None) or {}
        if output not in declared:
            listed = ", ".join(sorted(declared)) or "none"
            self.problem(
                path,
                f"experiment '{name}' declares no output '{output}' (its outputs: {listed})"
                + did_you_mean(output, declared),
            )
            return None
        root = self.config.plugins.artifacts.root_dir
        if root is None:
            self.problem(("plugins", "artifacts", "root_dir"), f"reading '{name}#{output}' needs an artifacts root_dir, but it is null")
            return None
        try:
            reading = expanded_root(root)  # ~ expanded, as ArtifactPlugin has the upstream's
        except StoreError:
            self.problem(
                ("plugins", "artifacts", "root_dir"),
                f"{root!r}: its leading '~' names no home directory (no such user, or no home "
                "directory known); give the directory in full",
            )
            return None
        theirs = upstream.get_plugin(ArtifactPlugin)
        their_root = theirs.root_dir if theirs is not None else None
        if their_root is None or os.path.abspath(their_root) != os.path.abspath(reading):
            self.problem(
                path,
                f"experiment '{name}' writes its artifacts under root_dir {their_root!r}, but this "
                f"experiment reads from {root!r}; give both the same plugins.artifacts.root_dir",
            )
            return None
        artifact = declared[output]
        # No root_dir: it reads under the reading experiment's root_dir, whatever that is
        # when it runs (``--set plugins.artifacts.root_dir=...`` moves the whole graph).
        return UpstreamOutput(
            name, output, artifact.name, artifact.loader, upstream_fingerprint=fingerprint(spec_of(upstream))
        )

    def steps(self, outputs: Mapping[str, Artifact]) -> list[PipelineStep]:
        """The pipeline steps; each gets ``alias=Artifact(...)`` for every output it accepts."""
        self._outputs = dict(outputs)
        return self._step_list(("steps",), self.config.steps)

    def _step_list(self, path: FieldPath, calls: list[Call]) -> list[PipelineStep]:
        built = [self._step((*path, index), call) for index, call in enumerate(calls)]
        return [step for step in built if step is not None]

    def _step(self, path: FieldPath, call: Call) -> PipelineStep | None:
        factory = self._lookup(path, call, step_factories(self.modules.get("steps")), "step", "steps.py")
        if factory is None:
            return None
        parameters = step_parameters(factory)
        if not self._known_kwargs(path, "step", call, parameters):
            return None
        kwargs = dict(call.kwargs)
        for alias, artifact in getattr(self, "_outputs", {}).items():
            if alias in (parameters or {}) and alias not in kwargs:
                kwargs[alias] = artifact  # bound to each replicate's file by the engine
        return self._make(path, factory, call, kwargs)

    def treatments(self) -> list[Treatment]:
        """Every treatment of the config (before ``disabled_treatments`` are removed)."""
        registry = datasource_factories(self.modules.get("datasources"))
        built = []
        for name, spec in self.config.treatments.items():
            path: FieldPath = ("treatments", name)
            datasource = None
            if spec.datasource is not None:
                call = spec.datasource
                if call.upstream is not None:
                    datasource = self._upstream_source((*path, "datasource"), *call.upstream)
                else:
                    factory = self._lookup((*path, "datasource"), call, registry, "datasource", "datasources.py")
                    if factory is not None:
                        datasource = self._make((*path, "datasource"), factory, call, call.kwargs)
                if datasource is None:
                    continue
            steps = None
            if spec.steps is not None:
                declared = [c.name for c in self.config.steps]
                steps = {}
                for swapped, call in spec.steps.items():
                    if swapped not in declared:
                        self.problem(
                            (*path, "steps", swapped),
                            f"treatment '{name}' swaps step '{swapped}', which the pipeline does not "
                            f"have (steps: {', '.join(declared)})" + did_you_mean(swapped, declared),
                        )
                        continue
                    step = self._step((*path, "steps", swapped), call)
                    if step is not None:
                        steps[swapped] = step
            pipeline = self._step_list((*path, "pipeline"), spec.pipeline) if spec.pipeline is not None else None
            built.append(Treatment(name, spec.values, datasource=datasource, steps=steps, pipeline=pipeline))
        return built

    def hypotheses(self) -> list[Hypothesis]:
        """Hypotheses; verifiers from verifiers.py first, then :mod:`crystallize.stats`."""
        user = verifier_factories(self.modules.get("verifiers"))
        registry = {**builtin_verifiers(), **user}
        rankers = {
            name: fn for name, fn in plain_functions(self.modules.get("verifiers")).items()
            if not hasattr(fn, "__crystallize_verifier__")
        }
        built = []
        for index, spec in enumerate(self.config.hypotheses):
            hyp = self._hypothesis(("hypotheses", index), spec, registry, rankers)
            if hyp is not None:
                built.append(hyp)
        return built

    @staticmethod
    def _ranker_not_found(name: str, verifiers: Mapping[str, Any], rankers: Mapping[str, Any]) -> str:
        """The problem of a hypothesis ``ranker:`` that names no plain function in verifiers.py."""
        if name in verifiers:
            return (
                f"ranker '{name}' is a verifier, not a ranker: a ranker is a plain (undecorated) "
                f"function in verifiers.py taking one verifier result dict and returning a number "
                f"(lower ranks better), e.g. def by_p(result): return result['p_value']"
            )
        return f"no ranker function named '{name}' in verifiers.py" + did_you_mean(name, rankers, what="functions")

    def _hypothesis(
        self, path: FieldPath, spec: HypothesisSpec, registry: Mapping[str, Any], rankers: Mapping[str, Any]
    ) -> Hypothesis | None:
        call = spec.verifier
        factory = registry.get(call.name)
        if factory is None:
            searched = "verifiers.py or crystallize.stats"
            self.problem(path + ("verifier",), self._not_found(call.name, registry, "verifier", "verifiers.py", searched))
            return None
        if not self._known_kwargs(path + ("verifier",), "verifier", call, factory_parameters(factory, "__crystallize_verifier__", 2)):
            return None
        ranker = None
        if spec.ranker is not None:
            ranker = rankers.get(spec.ranker)
            if ranker is None:
                self.problem(path + ("ranker",), self._ranker_not_found(spec.ranker, registry, rankers))
                return None
        verifier = self._make_verifier(path + ("verifier",), factory, call)
        if verifier is None:
            return None
        try:
            return Hypothesis(
                verifier=verifier, metrics=spec.metrics, ranker=ranker, name=spec.name, correction=spec.correction
            )
        except (TypeError, ValueError) as exc:  # the parts disagree (a verifier metric not in metrics:)
            self.problem(path, str(exc))
            return None


def build_plugins(spec: PluginsSpec) -> list[BasePlugin]:
    """The four plugins described by ``plugins:``."""
    return [
        SeedPlugin(seed=spec.seed.seed, auto_seed=spec.seed.auto_seed),
        ArtifactPlugin(root_dir=spec.artifacts.root_dir, versioned=spec.artifacts.versioned),  # type: ignore[arg-type]
        logging_plugin(spec.logging),
        execution_plugin(spec.execution.strategy, spec.execution.workers, spec.execution.address),
    ]


def logging_plugin(spec: LoggingSpec) -> LoggingPlugin:
    """The LoggingPlugin of ``plugins.logging:``. A ``log_level`` config.yaml leaves out is
    not passed (though the schema reads it as ``INFO``): as with ``LoggingPlugin()``, a
    level the user gave the ``crystallize`` logger then holds during runs."""
    level = {"log_level": spec.log_level} if "log_level" in spec.model_fields_set else {}
    return LoggingPlugin(verbose=spec.verbose, **level)


def execution_plugin(strategy: str, workers: int | None = None, address: str | None = None) -> BasePlugin:
    """The execution plugin for a strategy (one of ``crystallize.plugins.execution.STRATEGY_NAMES``)
    as ``plugins.execution`` and ``--executor/--workers/--address`` describe it; Ray is
    imported only when chosen.

    ``workers`` is the pool size (threads, processes, Ray CPUs) or the async concurrency;
    ``address`` is the Ray cluster's. The callers have validated both.

    Raises:
        ValueError: an option the strategy would ignore (``workers`` with ``serial``,
            ``address`` with anything but ``ray``; see ``STRATEGY_OPTIONS``): a caller
            that missed it must not have it silently dropped.
    """
    for option, value in (("workers", workers), ("address", address)):
        if value is not None and strategy not in STRATEGY_OPTIONS[option]:
            raise ValueError(
                f"'{option}' is used only with strategy: {', '.join(STRATEGY_OPTIONS[option])} "
                f"(the {strategy} strategy would ignore it)"
            )
    if strategy in ("thread", "process"):
        return ParallelExecution(max_workers=workers, executor_type=strategy)
    if strategy == "async":
        return AsyncExecution(max_concurrency=workers)
    if strategy == "ray":
        from crystallize.plugins.execution.ray import RayExecution

        return RayExecution(address=address, num_cpus=workers)
    return SerialExecution()


def builtin_verifiers() -> dict[str, Any]:
    """``{name: factory}`` of the verifiers in :mod:`crystallize.stats`."""
    import crystallize.stats as stats

    return {
        name: getattr(stats, name)
        for name in stats.__all__
        if hasattr(getattr(stats, name), "__crystallize_verifier__")
    }


def step_parameters(factory: Any) -> dict[str, inspect.Parameter] | None:
    """The keyword parameters a step factory (or PipelineStep subclass) accepts.

    ``None`` when it takes ``**kwargs`` or its signature cannot be read (anything goes).
    """
    params = factory_parameters(factory, "__crystallize_step__", 1)
    if params is not None and hasattr(factory, "__crystallize_step__"):
        first = next(iter(params.values()), None)
        if first is not None and takes_context(first):
            del params[first.name]
    return params


def factory_parameters(factory: Any, marker: str, skip: int) -> dict[str, inspect.Parameter] | None:
    """The keyword parameters of a decorated factory's function (its first ``skip``
    parameters are the data/ctx ones) or of a class's constructor.

    ``None`` when it takes ``**kwargs`` or its signature cannot be read.
    """
    fn = getattr(factory, marker, None)
    try:
        if fn is not None:
            params = list(callable_signature(fn).parameters.values())[skip:]  # a partial's fixed ones left out
        else:
            params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name: p for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def _args(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


__all__ = ["Builder", "build_plugins", "builtin_verifiers", "execution_plugin", "logging_plugin", "step_parameters"]
