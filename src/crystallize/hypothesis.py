"""Hypotheses: verifiers that compare each treatment's metric samples with the baseline's.

A *verifier* is ``fn(baseline, treatment, **params) -> dict`` where ``baseline`` and
``treatment`` map metric names to their per-replicate values. A :class:`Hypothesis`
pairs a verifier with the metrics it reads, an optional multiple-comparison correction
and a *ranker* that scores each treatment's verifier output (lower ranks better).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from crystallize.exceptions import MissingMetricError
from crystallize.p_values import (
    apply_correction,
    as_p_value,
    check_p_values,
    effect_magnitude,
    p_for_ranking,
    raw_p,
)
from crystallize.utils.importing import factory_reference, import_qualname, rebuild_from_factory
from crystallize.utils.text import exception_summary

if TYPE_CHECKING:
    import inspect

#: What a verifier receives for each condition: ``{metric: [value per replicate]}``
#: (a plain dict, so a verifier annotated ``dict[str, list[float]]`` type-checks).
Samples = dict[str, list[Any]]
#: A verifier as a :class:`Hypothesis` calls it: ``fn(baseline, treatment) -> dict``.
VerifierFunction = Callable[[Samples, Samples], Mapping[str, Any]]
#: A ranker: ``fn(verifier output) -> float``, lower ranks better.
Ranker = Callable[[dict[str, Any]], float]
_P = ParamSpec("_P")
CORRECTIONS = ("holm", "bonferroni", "fdr_bh")

logger = logging.getLogger("crystallize")


class MetricSamples(dict):
    """``{metric: [values]}`` as a verifier receives it, remembering the replicate each
    value came from in ``replicates[metric]`` (parallel lists).

    It is a plain ``dict`` to a verifier; the built-in paired tests use ``replicates`` to
    pair value *i* of the treatment with the baseline's value of the same replicate, so
    a replicate that failed in one condition does not shift every later pair.
    """

    __slots__ = ("replicates",)

    def __init__(self, values: Mapping[str, Sequence[Any]], replicates: Mapping[str, Sequence[int]]) -> None:
        super().__init__(values)
        self.replicates = dict(replicates)


class Verifier:
    """A verifier function bound to its parameters; call it with ``(baseline, treatment)``."""

    __slots__ = ("fn", "params")

    def __init__(self, fn: Callable[..., Mapping[str, Any]], params: dict[str, Any]) -> None:
        self.fn = fn
        self.params = params

    @property
    def name(self) -> str:
        """The verifier function's name (a callable object's class name)."""
        return _callable_name(self.fn)

    def __call__(self, baseline: Mapping[str, Sequence[Any]], treatment: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
        return verifier_output(self.name, self.fn(baseline, treatment, **self.params))

    def __reduce__(self):
        # The module attribute is the factory, not ``fn``: rebuild through it.
        return factory_reference(self.fn, "__crystallize_verifier__", dict(self.params))

    # Copies don't go through __reduce__, which needs ``fn`` at module scope (for worker
    # processes): a copy shares ``fn`` and has its own ``params``.
    def __copy__(self) -> Verifier:
        clone = type(self).__new__(type(self))
        clone.fn, clone.params = self.fn, dict(self.params)
        if hasattr(self, "__dict__"):  # a subclass's own attributes
            clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Verifier:
        import copy  # lazy: import time

        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        clone.fn, clone.params = self.fn, copy.deepcopy(self.params, memo)
        if hasattr(self, "__dict__"):
            clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def _interval_as_tuple(output: Any) -> Any:
    """A built-in verifier's output (one metric's, or ``{metric: output}``) with its
    ``ci`` a ``(low, high)`` tuple again: JSON brought it back from the store as a list."""
    if not isinstance(output, dict):
        return output
    ci = output.get("ci")
    if "ci_of" in output and isinstance(ci, list) and len(ci) == 2:
        return {**output, "ci": tuple(ci)}
    if "ci" in output or "p_value" in output:
        return output
    return {key: _interval_as_tuple(value) if isinstance(value, dict) else value for key, value in output.items()}


def verifier_output(name: str, output: Any) -> dict[str, Any]:
    """``output`` as a dict; a TypeError naming verifier ``name`` when it is not a mapping."""
    if not isinstance(output, Mapping):
        raise TypeError(
            f"Verifier '{name}' must return a dict such as {{'p_value': 0.03, "
            f"'significant': True}}, but returned {type(output).__name__} {output!r}."
        )
    return dict(output)


def verifier(fn: Callable[Concatenate[Any, Any, _P], Mapping[str, Any]] | None = None) -> Callable[_P, Verifier]:
    """Turn ``def v(baseline, treatment, **params) -> dict`` into a verifier factory.

    Example::

        @verifier
        def larger_mean(baseline, treatment, *, metric="score"):
            gain = mean(treatment[metric]) - mean(baseline[metric])
            return {"gain": gain, "significant": gain > 0}

        check = larger_mean(metric="accuracy")    # a Verifier

    The factory binds its parameters against ``fn``'s signature, so a misspelt or missing
    parameter is refused when the verifier is built, not after the run. ``@verifier()``
    works as ``@verifier`` does.

    Raises:
        TypeError: when ``fn`` is not a function or cannot take ``(baseline, treatment)``;
            from the factory, for unknown or missing parameters.
    """
    if fn is None:
        return verifier  # type: ignore[return-value]
    if not callable(fn):
        raise TypeError(
            f"@verifier decorates a function def v(baseline, treatment, **params) -> dict, "
            f"got {type(fn).__name__} {fn!r}."
        )
    signature = _verifier_signature(fn)

    @functools.wraps(fn)
    def factory(**params: Any) -> Verifier:
        if signature is not None:
            _bind_verifier_params(fn, signature, params)
        return Verifier(fn, params)

    if signature is not None:
        factory.__signature__ = _factory_signature(signature)  # type: ignore[attr-defined]
    factory.__crystallize_verifier__ = fn  # type: ignore[attr-defined]
    return factory  # type: ignore[return-value]  # the parameters after the samples


def _factory_signature(signature: inspect.Signature) -> inspect.Signature:
    """The signature of a verifier factory made from a function with ``signature``: its
    parameters after the two samples, keyword-only (the factory takes keywords only)."""
    import inspect

    samples = signature.bind_partial(None, None).arguments
    keyword_only = inspect.Parameter.KEYWORD_ONLY
    return signature.replace(
        parameters=[
            p if p.kind is inspect.Parameter.VAR_KEYWORD else p.replace(kind=keyword_only)
            for p in signature.parameters.values()
            if p.name not in samples and p.kind is not inspect.Parameter.VAR_POSITIONAL
        ],
        return_annotation=Verifier,
    )


def _verifier_signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    """``fn``'s signature (``None`` when it cannot be inspected); a TypeError when ``fn``
    cannot be called as ``fn(baseline, treatment, ...)``."""
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # e.g. some built-in callables
        return None
    from crystallize.pipeline_step import refuse_positional_only

    try:
        samples = signature.bind_partial(None, None).arguments
    except TypeError:
        name = _callable_name(fn)
        raise TypeError(
            f"@verifier function '{name}' takes only {', '.join(signature.parameters) or 'no parameters'}, "
            f"but a verifier is called with the baseline and the treatment samples first: "
            f"def {name}(baseline, treatment, *, option=1) -> dict."
        ) from None
    rest = [p for p in signature.parameters.values() if p.name not in samples]
    refuse_positional_only("@verifier", fn, rest, "baseline and treatment")
    return signature


def _bind_verifier_params(fn: Callable[..., Any], signature: inspect.Signature, params: dict[str, Any]) -> None:
    """Raise TypeError unless ``fn(baseline, treatment, **params)`` matches ``signature``:
    an unknown parameter (with a did-you-mean) or a missing required one."""
    import inspect

    from crystallize.pipeline_step import unknown_parameters, unknown_parameters_error

    name = _callable_name(fn)
    try:
        signature.bind(None, None, **params)
        return
    except TypeError as exc:
        problem = str(exc)
    samples = signature.bind_partial(None, None).arguments  # what baseline and treatment fill
    rest = [p for p in signature.parameters.values() if p.name not in samples]
    var_keyword = next((p.name for p in rest if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    names = [p.name for p in rest if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    unknown = unknown_parameters(params, names, samples, var_keyword)
    if unknown:
        accepted = names + [f"**{var_keyword}"] if var_keyword else names
        raise unknown_parameters_error("verifier", name, unknown, accepted)
    missing = [p.name for p in rest if p.name in names and p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        example = ", ".join(f"{name}=..." for name in missing)
        raise TypeError(
            f"verifier {name}() is missing required parameter(s) {', '.join(missing)}: "
            f"pass them when building it, e.g. {name}({example})"
        )
    raise TypeError(f"verifier {name}() cannot take these parameters: {problem}")


def _callable_name(fn: Callable[..., Any]) -> str:
    """A function's name; a callable object's (or ``functools.partial``'s) class name."""
    return getattr(fn, "__name__", None) or type(fn).__name__


class HypothesisResult:
    """The verdict of one hypothesis over every treatment of a run.

    Attributes:
        name: the hypothesis name.
        results: ``{treatment: verifier output}``; a treatment whose verification failed
            maps to ``{"error": message}``.
        ranking: every treatment: first those the ranker scored, best (lowest score) first
            (NaN scores after the others; equal scores by raw p-value, then by the larger
            ``effect_size``, then in listing order), then, in run order and *unranked*, those whose
            comparison failed (an ``error`` entry) or whose ranker raised (a
            ``ranking_error`` entry). Only treatments in ``scores`` are ranked: use
            :attr:`best` for the winner, never ``ranking[0]`` alone.
        scores: ``{treatment: ranker score}``, only for the treatments the ranker scored.
        metrics: the metrics the hypothesis read.
        correction: the multiple-comparison correction applied, if any.
        error: why the hypothesis could not be verified at all (e.g. its metric was never
            recorded because every replicate failed), else ``None``; every treatment then
            has it as its ``error`` entry in ``results``, unranked in ``ranking``.
    """

    def __init__(
        self,
        name: str,
        results: dict[str, dict[str, Any]],
        ranking: list[str],
        scores: dict[str, float],
        metrics: list[str],
        correction: str | None,
        error: str | None = None,
    ) -> None:
        self.error = error
        self.name = name
        self.results = results
        self.ranking = ranking
        self.scores = scores
        self.metrics = metrics
        self.correction = correction

    @property
    def best(self) -> str | None:
        """The best-ranked treatment, or ``None`` when no treatment could be ranked: for
        every treatment its comparison or its ranker failed, or the ranker's score was NaN
        (as the default ranker's is for an output without a usable p-value)."""
        scores = self.scores
        return next((t for t in self.ranking if t in scores and not math.isnan(scores[t])), None)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict of the hypothesis result."""
        return {
            "name": self.name,
            "metrics": self.metrics,
            "correction": self.correction,
            "results": self.results,
            "ranking": self.ranking,
            "scores": self.scores,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HypothesisResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. loaded from the store)."""
        return cls(
            name=data["name"],
            results={t: _interval_as_tuple(output) for t, output in dict(data.get("results", {})).items()},
            ranking=list(data.get("ranking", [])),
            scores=dict(data.get("scores", {})),
            metrics=list(data.get("metrics", [])),
            correction=data.get("correction"),
            error=data.get("error"),
        )

    def __eq__(self, other: object) -> bool:
        """Equal when every field is: NaN equals NaN (a NaN p-value or score means "no
        usable value" in both), and NumPy values equal their plain form, so a result
        equals itself loaded from the store or unpickled."""
        if type(other) is not type(self):
            return NotImplemented
        return _same(self.to_dict(), other.to_dict())

    __hash__ = None  # type: ignore[assignment]  # mutable, like ReplicateRecord

    def __repr__(self) -> str:
        return f"HypothesisResult(name={self.name!r}, ranking={self.ranking!r})"


def _same(a: Any, b: Any) -> bool:
    """``a == b`` for verifier outputs: mappings and sequences item by item, NaN equal
    to NaN, NumPy arrays and scalars as their ``tolist()`` form."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # a comparison without a single answer
        return False


def _plain(value: Any) -> Any:
    """A NumPy array or scalar as its Python form (``tolist()``); anything else as is."""
    return value.tolist() if type(value).__module__ == "numpy" and hasattr(value, "tolist") else value


def _default_ranker(result: dict[str, Any]) -> float:
    """Rank by p-value (adjusted when available): smaller is better. With several
    metrics (one nested result per metric), by the smallest of them. NaN (no usable
    p-value, or none at all) leaves the treatment unranked."""
    value = p_for_ranking(result)
    if value is not None:
        return value
    nested = [p for v in result.values() if isinstance(v, Mapping) and (p := p_for_ranking(v)) is not None]
    usable = [p for p in nested if not math.isnan(p)]
    return min(usable) if usable else math.nan


def check_hypothesis_name(name: object) -> None:
    """Refuse a hypothesis ``name`` that is not ``None`` (the default name) or a string
    with visible characters.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: ``name`` is empty or blank (only whitespace): it would label the
            hypothesis in reports and results as nothing at all.
    """
    if name is None:
        return
    if not isinstance(name, str):
        raise TypeError(f"A hypothesis name must be a string (or None for the default), got {name!r}")
    if not name.strip():
        what = "empty" if not name else "only whitespace"
        raise ValueError(
            f"Hypothesis name {name!r} is {what}: give the hypothesis a name with visible "
            "characters (it labels the hypothesis in reports, and result.get_hypothesis(name) "
            "finds it by it), or leave name out for the ranker's function name."
        )


class Hypothesis:
    """A verifier applied to each treatment against the baseline, then ranked.

    Args:
        verifier: a :class:`Verifier` (e.g. ``welch_t_test()`` or a ``@verifier`` factory
            called with its parameters).
        metrics: one metric name or a list of names handed to the verifier.
        ranker: ``fn(verifier_output) -> float``; lower ranks better. Defaults to the
            (adjusted) p-value.
        name: defaults to the ranker's function name, else ``"hypothesis"``. An empty
            or blank name (``""``, ``"   "``) raises ValueError; ``None`` means the default.
        correction: ``"holm"``, ``"bonferroni"`` or ``"fdr_bh"`` to adjust p-values across
            the treatments (and metrics) of this hypothesis; ``significant`` then uses the
            adjusted value.
    """

    def __init__(
        self,
        verifier: VerifierFunction,
        metrics: str | Sequence[str],
        ranker: Ranker | None = None,
        name: str | None = None,
        correction: str | None = None,
    ) -> None:
        check_verifier(verifier)
        check_hypothesis_name(name)
        if correction is not None and correction not in CORRECTIONS:
            raise ValueError(
                f"Unknown correction {correction!r}; choose one of {', '.join(CORRECTIONS)}"
            )
        if ranker is not None and not callable(ranker):
            raise TypeError(f"Hypothesis ranker must be a function fn(result) -> float, got {ranker!r}")
        self.verifier = verifier
        self.metrics = metric_names(metrics)
        tested = getattr(verifier, "params", {}).get("metric")
        if isinstance(tested, str) and tested not in self.metrics:
            raise ValueError(
                f"The verifier tests metric '{tested}' (metric={tested!r}), but the hypothesis "
                f"hands it only {', '.join(map(repr, self.metrics))}: add '{tested}' to the "
                "hypothesis' metrics, or drop metric= from the verifier."
            )
        self.ranker = ranker or _default_ranker
        if name is None:
            name = (getattr(ranker, "__name__", None) if ranker else None) or "hypothesis"
        self.name = name
        self.correction = correction

    def _select(self, condition: str, metrics: Mapping[str, Sequence[Any]]) -> dict[str, list]:
        selected: dict[str, list] = {}
        for metric in self.metrics:
            if metric not in metrics:
                if not metrics:
                    raise MissingMetricError(
                        f"Hypothesis '{self.name}' reads metric '{metric}', but the {condition} "
                        "condition recorded no metrics at all: if its replicates failed, see "
                        "result.errors; otherwise record it in a step with ctx.metrics.add(...) "
                        "or return (data, {metric: value})."
                    )
                raise MissingMetricError(
                    f"Hypothesis '{self.name}' reads metric '{metric}', but the {condition} "
                    f"condition recorded no such metric (recorded: {', '.join(sorted(metrics))}). "
                    "Record it in a step with ctx.metrics.add(...) or return (data, {metric: value})."
                )
            selected[metric] = list(metrics[metric])
        if isinstance(metrics, MetricSamples):
            known = metrics.replicates
            return MetricSamples(selected, {m: known[m] for m in selected if m in known})
        return selected

    def verify(
        self,
        baseline: Mapping[str, Sequence[Any]],
        treatments: Mapping[str, Mapping[str, Sequence[Any]]],
    ) -> HypothesisResult:
        """Verify every treatment against ``baseline`` and rank them.

        Raises :class:`MissingMetricError` when a metric was recorded by no condition at
        all; a verifier that raises (``sys.exit()`` too; Ctrl+C is raised) or returns a
        numeric ``p_value`` outside [0, 1] (a :class:`VerificationError`), or a metric
        missing in one treatment, becomes an ``{"error": ...}`` entry for that treatment,
        and the others are still verified (and corrected together).
        """
        recorded = set(baseline).union(*(set(m) for m in treatments.values()))
        for metric in self.metrics:
            if metric not in recorded:
                raise MissingMetricError(self._missing_everywhere(metric, recorded))
        results: dict[str, dict[str, Any]] = {}
        verifier_name = getattr(self.verifier, "name", None) or getattr(self.verifier, "__name__", "verifier")
        for tname, metrics in treatments.items():
            try:
                base = self._select("baseline", baseline)
                output = self.verifier(base, self._select(f"'{tname}'", metrics))
                output = verifier_output(verifier_name, output)
                check_p_values(output, self.name, verifier_name, tname)
                results[tname] = output
            except (Exception, SystemExit) as exc:  # one bad treatment must not sink the others
                results[tname] = {"error": exception_summary(exc)}
        if self.correction:
            alpha = getattr(self.verifier, "params", {}).get("alpha", 0.05)
            apply_correction(results, self.correction, as_p_value(alpha) or 0.05)
        scores = self._scores(results)
        # Holm and BH often give several treatments the same adjusted p-value; the raw
        # one (whose order those corrections keep) breaks such ties, then (for p-values
        # that all underflowed to 0 at large samples) the larger effect, then listing order.
        ranking = sorted(
            scores,
            key=lambda t: (math.isnan(scores[t]), scores[t], raw_p(results[t]), -effect_magnitude(results[t])),
        )
        ranking += [t for t in results if t not in scores]
        return HypothesisResult(self.name, results, ranking, scores, self.metrics, self.correction)

    def _scores(self, results: dict[str, dict[str, Any]]) -> dict[str, float]:
        """The ranker's score of every treatment whose comparison succeeded. A ranker that
        raises (``sys.exit()`` too) leaves that treatment unscored, with a ``ranking_error``
        entry in its output and one warning on the ``crystallize`` logger for the hypothesis."""
        scores: dict[str, float] = {}
        failed: list[str] = []
        flat_lookup = False  # a ranker reading result[metric] of a one-metric (flat) output
        for tname, output in results.items():
            if "error" in output:
                continue
            try:
                scores[tname] = float(self.ranker(output))
            except (Exception, SystemExit) as exc:  # sys.exit() too, as in a step: not the run's end
                output["ranking_error"] = exception_summary(exc)
                failed.append(f"'{tname}' ({output['ranking_error']})")
                flat_lookup = flat_lookup or (
                    isinstance(exc, KeyError) and exc.args[:1] == tuple(self.metrics[:1])
                    and len(self.metrics) == 1 and "p_value" in output
                )
        if failed:
            hint = (
                f" With one metric the verifier's output is flat: read result['p_value'], not "
                f"result['{self.metrics[0]}']['p_value'] (a list of one metric counts as one)."
                if flat_lookup
                else ""
            )
            logger.warning(
                "Hypothesis '%s': its ranker %s raised for treatment(s) %s, so they are not "
                "ranked (they come last in .ranking, have no score, and 'ranking_error' in "
                ".results says why). Fix the ranker: it gets each treatment's verifier output.%s",
                self.name, _callable_name(self.ranker), ", ".join(failed), hint,
            )
        return scores

    def _missing_everywhere(self, metric: str, recorded: set[str]) -> str:
        """The message for a metric no condition recorded. With no metrics at all, the
        likely cause is that no replicate succeeded, so the name is not blamed."""
        if not recorded:
            return (
                f"Hypothesis '{self.name}' reads metric '{metric}', but no condition recorded "
                "any metric: if every replicate failed, see result.errors for why; otherwise "
                "record it in a step with ctx.metrics.add(...) or return (data, {metric: value})."
            )
        return (
            f"Hypothesis '{self.name}' reads metric '{metric}', which no condition "
            f"recorded (recorded metrics: {', '.join(sorted(recorded))}). Record it in a step "
            "with ctx.metrics.add(...) or return (data, {metric: value}), or fix the name."
        )

    def __reduce__(self):
        # Everything by value but the ranker. A ranker decorated with @hypothesis is not
        # found by its name (the module holds this Hypothesis there): it is found again
        # as the ``ranker`` of that module-level hypothesis, as steps and verifiers are
        # through their factories (an error says what to do when there is none).
        state = dict(self.__dict__)
        rebuild, args = factory_reference(self.ranker, "ranker", {}, hypothesis)
        if rebuild is rebuild_from_factory:
            del state["ranker"]
            return (_rebuild_hypothesis, (type(self), *args[:2]), state)
        return (_rebuild_hypothesis, (type(self), None, None), state)  # the ranker pickles by name

    # Copies don't go through __reduce__, whose ranker must be found by name (for worker
    # processes): they copy the attributes, so a ranker defined in a function copies too.
    def __copy__(self) -> Hypothesis:
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Hypothesis:
        import copy  # lazy: import time

        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        # Functions (the ranker, the verifier's function) are shared: deepcopy never
        # copies them.
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    def __repr__(self) -> str:
        return f"Hypothesis(name={self.name!r}, verifier={self.verifier!r}, metrics={self.metrics!r})"


def _rebuild_hypothesis(cls: type[Hypothesis], module: str | None, name: str | None) -> Hypothesis:
    """Unpickling helper: an empty ``cls`` whose ranker, when ``module`` is given, is that
    of the module-level hypothesis ``module.name`` (the rest is set from the state)."""
    rebuilt = cls.__new__(cls)
    if module is not None and name is not None:
        rebuilt.ranker = import_qualname(module, name).ranker
    return rebuilt


def check_verifier(verifier: Any) -> None:
    """Raise TypeError unless ``verifier`` can be called with ``(baseline, treatment)``;
    an uncalled verifier factory gets a message saying to call it."""
    if getattr(verifier, "__crystallize_verifier__", None) is not None:
        name = getattr(verifier, "__name__", "the_verifier")
        raise TypeError(
            f"Hypothesis verifier {name} is a verifier factory, not a verifier. Call it: "
            f"verifier={name}() (with its parameters, if any)."
        )
    if not callable(verifier):
        raise TypeError(
            f"Hypothesis verifier must be callable, got {verifier!r}. Did you pass the "
            "factory instead of calling it (welch_t_test instead of welch_t_test())?"
        )


def metric_names(metrics: Any) -> list[str]:
    """``metrics`` (one name or a list of names) as a non-empty list of names."""
    if isinstance(metrics, Mapping | bytes) or not isinstance(metrics, str | Iterable):
        raise TypeError(
            "Hypothesis metrics must be a metric name or a list of names (metrics=\"accuracy\" "
            f"or metrics=[\"accuracy\", \"loss\"]), got {type(metrics).__name__} {metrics!r}."
        )
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(f"Hypothesis metric names must be strings, got {bad[0]!r} in {metrics!r}.")
    if not names or "" in names:
        raise ValueError("A hypothesis needs at least one metric name, and names cannot be empty")
    return names


def hypothesis(
    *,
    verifier: VerifierFunction,
    metrics: str | Sequence[str],
    name: str | None = None,
    correction: str | None = None,
) -> Callable[[Ranker], Hypothesis]:
    """Decorate a ranker ``def r(result: dict) -> float`` (lower is better) into a Hypothesis.

    Example::

        @hypothesis(verifier=welch_t_test(), metrics="accuracy", correction="holm")
        def higher_accuracy(result):
            return result["p_value"]
    """

    check_verifier(verifier)
    check_hypothesis_name(name)
    metrics = metric_names(metrics)  # a generator is read once, here

    def decorate(ranker: Ranker) -> Hypothesis:
        if not callable(ranker):
            raise TypeError(
                f"@hypothesis(...) decorates a ranker function def r(result) -> float, got {ranker!r}."
            )
        return Hypothesis(
            verifier=verifier,
            metrics=metrics,
            ranker=ranker,
            name=name if name is not None else ranker.__name__,
            correction=correction,
        )

    decorate.__crystallize_hypothesis_decorator__ = True  # type: ignore[attr-defined]
    return decorate


__all__ = [
    "Hypothesis",
    "HypothesisResult",
    "MetricSamples",
    "Verifier",
    "hypothesis",
    "verifier",
]
