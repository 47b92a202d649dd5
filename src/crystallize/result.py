"""The outcome of ``experiment.run()``: metrics, hypotheses, errors and provenance."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from math import isfinite
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from crystallize.hypothesis import HypothesisResult, MetricSamples
from crystallize.record import ReplicateError, ReplicateRecord
from crystallize.treatment import BASELINE
from crystallize.utils.gc_pacing import collector_paused

_by_replicate = attrgetter("replicate")

if TYPE_CHECKING:
    from pathlib import Path


class _NamedLookup(dict):  # type: ignore[type-arg]
    """A dict whose missing key raises a ``KeyError`` naming it and the keys there are
    (``result.metrics.treatments["T"]`` would otherwise say only ``KeyError: 'T'``)."""

    __slots__ = ()
    what = "key"

    def __missing__(self, key: object) -> Any:
        known = ", ".join(map(repr, self)) or "none"
        raise KeyError(f"no {self.what} named {key!r}; there are: {known}")


class MetricLists(_NamedLookup):
    """``{metric: [value, ...]}`` of one condition (see :class:`ConditionMetrics`)."""

    __slots__ = ()
    what = "metric"


class TreatmentMetrics(_NamedLookup):
    """``{treatment: ConditionMetrics}`` (see :class:`ExperimentMetrics`)."""

    __slots__ = ()
    what = "treatment"


class ConditionProvenance(_NamedLookup):
    """``{condition: [per-replicate provenance, ...]}`` (see :attr:`Result.provenance`)."""

    __slots__ = ()
    what = "condition"


class ConditionMetrics:
    """One condition's metrics: ``metrics[name]`` lists the values in replicate order.

    Attributes:
        name: the condition name (``"baseline"`` or a treatment name).
        metrics: ``{metric: [value, ...]}``, replicates in order (failed replicates add
            nothing, not even what they recorded before failing; a replicate that
            recorded a metric several times adds each value).
        value_replicates: ``{metric: [replicate, ...]}``, the replicate each value of
            ``metrics[metric]`` came from (paired tests pair values by it).
        replicates: the replicate index each record came from, in order (failed
            replicates included).
        seeds: the seed each replicate used.
    """

    def __init__(self, name: str, records: Sequence[ReplicateRecord]) -> None:
        self.name = name
        self.metrics: dict[str, list[Any]] = MetricLists()
        for record in records:
            if _adds_metrics(record):
                for metric, values in record.metrics.items():
                    self.metrics.setdefault(metric, []).extend(values)
        self.replicates = [r.replicate for r in records]
        self._records = records
        self._value_replicates: dict[str, list[int]] | None = None
        self.seeds = [r.seed for r in records]

    def __getitem__(self, metric: str) -> list[Any]:
        return self.metrics[metric]

    @property
    def value_replicates(self) -> dict[str, list[int]]:
        """``{metric: [replicate, ...]}``: the replicate each value of ``metrics[metric]``
        came from (worked out on first use; runs never pay for it otherwise)."""
        if self._value_replicates is None:
            found: dict[str, list[int]] = {}
            for record in self._records:
                if _adds_metrics(record):
                    for metric, values in record.metrics.items():
                        found.setdefault(metric, []).extend([record.replicate] * len(values))
            self._value_replicates = found
        return self._value_replicates

    def samples(self) -> MetricSamples:
        """The metrics as a verifier receives them (remembering each value's replicate)."""
        return MetricSamples(self.metrics, self.value_replicates)

    def __repr__(self) -> str:
        """The name, the number of replicates and, for the first 10 metrics, their
        first 3 values (each shortened) with how many more there are."""
        from crystallize.utils.context import short_repr

        metrics = [
            f"{name!r}: [{_shortened([short_repr(v) for v in values[:3]], len(values))}]"
            for name, values in list(self.metrics.items())[:10]
        ]
        shown = _shortened(metrics, len(self.metrics), " metrics")
        return f"ConditionMetrics({self.name!r}, replicates={len(self.replicates)}, metrics={{{shown}}})"


class ExperimentMetrics:
    """Metrics of every condition: ``baseline``, ``treatments[name]`` and ``hypotheses``."""

    def __init__(
        self,
        baseline: ConditionMetrics,
        treatments: dict[str, ConditionMetrics],
        hypotheses: list[HypothesisResult],
    ) -> None:
        self.baseline = baseline
        self.treatments: dict[str, ConditionMetrics] = TreatmentMetrics(treatments)
        self.hypotheses = hypotheses
        #: Other names a condition answers to (e.g. a quick experiment's baseline config).
        self.aliases: dict[str, str] = {}

    def conditions(self) -> dict[str, ConditionMetrics]:
        """``{condition: ConditionMetrics}`` with the baseline first."""
        return {BASELINE: self.baseline, **self.treatments}

    def condition(self, name: str) -> ConditionMetrics:
        """The metrics of condition ``name`` (``"baseline"``, a treatment, or an alias)."""
        name = self.aliases.get(name, name)
        conditions = self.conditions()
        if name not in conditions:
            known = ", ".join([*conditions, *self.aliases]) or "none"
            raise KeyError(f"No condition named {name!r}; the result has: {known}")
        return conditions[name]

    def __repr__(self) -> str:
        """The baseline and the first 3 treatments (with how many more there are)."""
        treatments = [f"{name!r}: {metrics!r}" for name, metrics in list(self.treatments.items())[:3]]
        shown = _shortened(treatments, len(self.treatments))
        return f"ExperimentMetrics(baseline={self.baseline!r}, treatments={{{shown}}})"


class Result:
    """What a run produced.

    Attributes:
        metrics: :class:`ExperimentMetrics` — ``result.metrics.baseline.metrics["x"]``
            and ``result.metrics.treatments["t"].metrics["x"]`` list per-replicate values.
        errors: one :class:`~crystallize.record.ReplicateError` per failed replicate.
        provenance: ``{condition: [per-replicate provenance dict, ...]}`` in replicate
            order: step names, params, input/output hashes, cache hits, ``seed_used``,
            timings.
        records: the raw :class:`~crystallize.record.ReplicateRecord` list.
        experiment: the experiment's name; ``run_id`` the store's id for this run;
            ``base_seed`` the seed the run started from (repeat a run with it).
        warnings: notes about the run's trustworthiness (e.g. code changed mid-run).
    """

    def __init__(
        self,
        records: Iterable[ReplicateRecord],
        conditions: Sequence[str],
        hypotheses: Sequence[HypothesisResult] = (),
        experiment: str = "experiment",
        run_id: str | None = None,
        base_seed: int | None = None,
        info: dict[str, Any] | None = None,
        warnings: Sequence[str] = (),
        full_records: Callable[[], list[ReplicateRecord]] | None = None,
    ) -> None:
        by_condition = _grouped(records, conditions)
        self._records = [record for group in by_condition.values() for record in group]
        # Large stored runs keep records without step provenance (``STEPS_IN_STORE``);
        # this loads the full records from the store when provenance is asked for.
        self._full_records = full_records
        baseline = ConditionMetrics(BASELINE, by_condition.get(BASELINE, []))
        treatments = {
            name: ConditionMetrics(name, recs) for name, recs in by_condition.items() if name != BASELINE
        }
        self.metrics = ExperimentMetrics(baseline, treatments, list(hypotheses))
        self.errors: list[ReplicateError] = [r.error for r in self._records if r.error is not None]
        self.experiment = experiment
        self.run_id = run_id
        self.base_seed = base_seed
        self.info = dict(info or {})
        self.warnings = list(warnings)
        self._by_condition = by_condition

    # -- access ------------------------------------------------------------------------
    @property
    def records(self) -> list[ReplicateRecord]:
        """Every :class:`~crystallize.record.ReplicateRecord`, condition by condition in
        replicate order.

        Runs of 10,000 or more records — as run, or as loaded by ``load_result`` —
        keep their step provenance in the run store only (``record.steps`` is
        :data:`~crystallize.record.STEPS_IN_STORE`), so memory grows with the metrics
        alone; :meth:`full_records` and :attr:`provenance` read it from the store.
        """
        return self._records

    def full_records(self) -> list[ReplicateRecord]:
        """:attr:`records` with their step provenance, in the same order.

        For a run whose records keep their steps in the store (see :attr:`records`) each
        call reads them from the store and returns them without keeping them: the
        Result goes on holding the metrics alone.
        """
        if self._full_records is None:
            return self._records
        return [record for group in self._full_groups().values() for record in group]

    def _full_groups(self) -> dict[str, list[ReplicateRecord]]:
        """``{condition: [record, ...]}`` of the full records (see :meth:`full_records`)."""
        if self._full_records is None:
            return self._by_condition
        return _grouped(self._full_records(), self.conditions)

    @property
    def conditions(self) -> list[str]:
        """Condition names, baseline first."""
        return list(self._by_condition)

    @property
    def provenance(self) -> dict[str, list[dict[str, Any]]]:
        """``{condition: [per-replicate provenance, ...]}`` in replicate order (read from
        the store for a run whose records keep their steps there; not kept)."""
        groups = self._full_groups()
        return ConditionProvenance((name, [r.provenance() for r in recs]) for name, recs in groups.items())

    @property
    def hypotheses(self) -> list[HypothesisResult]:
        """Every hypothesis result of the run."""
        return self.metrics.hypotheses

    def get_hypothesis(self, name: str) -> HypothesisResult | None:
        """Return the hypothesis result named ``name``, or ``None`` when there is none.

        The :class:`~crystallize.hypothesis.Hypothesis` itself (what ``@hypothesis``
        made) may stand for its name.
        """
        name = getattr(name, "name", name) if not isinstance(name, str) else name
        for hyp in self.metrics.hypotheses:
            if hyp.name == name:
                return hyp
        return None

    # -- export ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict of the whole result: plain dicts, lists, strings, numbers,
        booleans and ``None`` only (NumPy values become Python numbers or lists, tuples
        lists, sets sorted lists, ints too long for decimal text (over 4300 digits) their
        hexadecimal text, other objects their ``repr``; dict keys become strings,
        as in JSON: a NumPy integer key ``np.int64(1)`` becomes ``"1"``, a key with no
        JSON form its ``str()``), so ``json.dumps`` takes it.

        Keys: ``experiment``, ``run_id``, ``base_seed``, ``info``, ``warnings``,
        ``metrics`` (``{condition: {metric: [values]}}``), ``hypotheses``, ``errors``,
        ``provenance`` and, only when some metric value was recorded with tags,
        ``metric_tags`` (``{condition: {metric: [tags per value]}}``, in step with
        ``metrics``; ``None`` for a value recorded without tags).
        """
        with collector_paused():
            return _plain(self._as_dict())

    def _as_dict(self) -> dict[str, Any]:
        data = {
            "experiment": self.experiment,
            "run_id": self.run_id,
            "base_seed": self.base_seed,
            "info": self.info,
            "warnings": self.warnings,
            "metrics": {name: cm.metrics for name, cm in self.metrics.conditions().items()},
            "hypotheses": [h.to_dict() for h in self.metrics.hypotheses],
            "errors": [e.as_dict() for e in self.errors],
            "provenance": self.provenance,
        }
        if self._tagged():
            data["metric_tags"] = self._metric_tags()
        return data

    def _tagged(self) -> bool:
        """True when some replicate whose metrics count recorded a value with tags."""
        return any(record.metric_tags is not None and _adds_metrics(record) for record in self._records)

    def _metric_tags(self) -> dict[str, dict[str, list[Any]]]:
        """``{condition: {metric: [tags per value]}}``, value for value in step with
        :attr:`ConditionMetrics.metrics` (failed replicates left out likewise)."""
        found: dict[str, dict[str, list[Any]]] = {}
        for name in self.metrics.conditions():
            tags = found[name] = {}
            for record in self._by_condition.get(name, []):
                if not _adds_metrics(record):
                    continue
                recorded = record.metric_tags or {}
                for metric, values in record.metrics.items():
                    tags.setdefault(metric, []).extend(recorded.get(metric) or [None] * len(values))
        return found

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The result as JSON text (what :meth:`to_dict` holds); also written to ``path``
        (as UTF-8, replacing the file in one step) when given. NaN and ±inf are written as
        ``NaN``/``Infinity``/``-Infinity``, as :mod:`json` does (``json.loads`` reads them;
        strict JSON parsers do not); text is written as is at any ``indent``, not as ``\\u``
        escapes (but for a lone surrogate, which UTF-8 cannot hold). ``indent`` 2 (the
        default) or ``None`` (compact) is written by orjson, other indents by :mod:`json`.
        """
        if path is not None and not isinstance(path, str | os.PathLike):
            raise TypeError(f"to_json(path): a file path (str or Path) to write, or None, got {path!r}")
        with collector_paused():
            text = _json_text(self._as_dict(), indent)
        if path is not None:  # in one step: a failed write leaves an earlier file whole
            from crystallize.store.artifacts import replace_file

            replace_file(path, text.encode("utf-8"))
        return text

    def to_dataframe(self):
        """A pandas DataFrame with one row per condition × replicate.

        Columns: ``condition``, ``replicate``, ``seed``, ``error`` (the failure's message,
        or ``None`` when the replicate succeeded; ``frame.error.isna()`` finds those),
        ``duration``, then, only when some metric value was recorded with tags,
        ``metric_tags`` (that replicate's ``{metric: [tags per value]}``, or ``None``), and
        one column per metric (a scalar when the replicate recorded one value, a list
        when it recorded several). A failed replicate's row has its ``condition``,
        ``replicate``, ``seed``, ``error`` and ``duration`` but no metric values or tags
        (missing, as in :attr:`metrics`), so ``frame.groupby("condition").x.mean()`` agrees
        with ``result.metrics``.

        Columns of integers or booleans that some rows lack get pandas' nullable types
        (``Int64``, ``UInt64`` for integers beyond the int64 range, ``boolean``) rather than
        floats, which would round integers beyond 2**53; integers beyond 64 bits stay
        Python ints (``object``). Columns no row lacks keep pandas' plain types. A column
        mixing integers with floats is ``float64`` when every integer is exact as a float,
        else it keeps its values as they are (``object``), whatever the order of the rows.

        A metric named like one of those fixed columns (say, a metric ``"error"``) goes in
        column ``"metric:<name>"`` (``"metric:error"``) instead — ``"metric:<name>:2"``
        (``:3``, ...) when a metric already has that name — with a ``UserWarning`` naming
        it, so the fixed columns always hold the run's own values.
        """
        from crystallize.result_export import records_frame

        return records_frame(self.records, self._tagged())

    def to_parquet(self, path: str | Path) -> None:
        """Write :meth:`to_dataframe` to a Parquet file (needs the ``parquet`` extra).

        Parquet wants one type per column, so the ``metric_tags`` column (tags may mix
        types) and every metric column Arrow cannot give one type (a replicate that
        recorded the metric several times next to one that recorded it once, numbers
        mixed with strings, an integer beyond 64 bits or one a float cannot hold next to
        floats, booleans mixed with other numbers at any depth of a list) or that holds
        dicts (Arrow would make a struct of them, giving each row every key any row has)
        are written as JSON
        text, one value per row (missing values and NaN as null): ``json.loads`` reads it
        back. A local file is replaced in one step (missing parent directories are
        created); a file object, or a URL (``s3://...``, written with fsspec), is handed
        to pandas.
        """
        from crystallize.utils.optional import require

        require("pyarrow", feature="Result.to_parquet", extra="parquet")
        from crystallize.result_export import json_text_columns, missing, surrogates_escaped_frame
        from crystallize.store.artifacts import replace_file

        frame = surrogates_escaped_frame(self.to_dataframe())  # Parquet text is UTF-8
        columns = json_text_columns(frame)
        if self._tagged() and "metric_tags" not in columns:
            columns.append("metric_tags")
        for column in columns:
            frame[column] = [None if missing(value) else _json_text(value) for value in frame[column]]
        if not isinstance(path, (str, os.PathLike)) or "://" in os.fspath(path):
            frame.to_parquet(path, index=False)  # a file object, or an fsspec URL (s3://...)
            return
        replace_file(path, frame.to_parquet(None, index=False))  # in one step, parents created

    def print_tree(self, max_replicates: int | None = 5, console: Any = None) -> None:
        """Print the provenance as a tree: conditions, replicates, steps (rich).

        Args:
            max_replicates: replicates shown per condition (``None``: all).
            console: a ``rich.console.Console`` to print to (default: stdout).
        """
        from rich.console import Console

        from crystallize.provenance_tree import provenance_tree

        (console or Console()).print(provenance_tree(self, max_replicates))

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """Render a self-contained HTML report (plots, hypotheses, config, errors).

        Also writes it to ``path`` when given (any writable target, pipes included).
        Returns the rendered page either way. Needs no network to view.
        """
        from crystallize.reporting_html import _write_page, render_html

        page = render_html(self, title)
        if path is not None:
            _write_page(page, path)
        return page

    def print_chart(self, metric: str | None = None, width: int | None = None, console: Any = None) -> None:
        """Print each condition's distribution of ``metric`` in the terminal (rich).

        ``width`` is the distribution column's width; ``None`` fits the console.
        """
        from rich.console import Console

        from crystallize.terminal_chart import terminal_chart

        (console or Console()).print(terminal_chart(self, metric=metric, width=width))

    def report(self) -> str:
        """A readable text summary: per-condition metrics, hypotheses and errors."""
        from crystallize.reporting import render_report

        return render_report(self)

    def __repr__(self) -> str:
        """The experiment, the first 5 conditions, and how many records and errors."""
        conditions = _shortened([repr(name) for name in self.conditions[:5]], len(self.conditions))
        return (
            f"Result(experiment={self.experiment!r}, conditions=[{conditions}], "
            f"records={len(self._records)}, errors={len(self.errors)})"
        )


def _shortened(parts: list[str], total: int, what: str = "") -> str:
    """``parts`` (the first of ``total`` items) joined for a repr, with ``... and N more``
    (``what`` names the items) when some were left out."""
    more = total - len(parts)
    return ", ".join([*parts, f"... and {more} more{what}"] if more > 0 else parts)


def _adds_metrics(record: ReplicateRecord) -> bool:
    """Whether ``record``'s metrics count: a failed replicate adds none, not even those
    it recorded before failing (to ``metrics``, the exports and the report alike)."""
    return record.error is None


def _grouped(records: Iterable[ReplicateRecord], conditions: Sequence[str]) -> dict[str, list[ReplicateRecord]]:
    """``{condition: [record, ...]}``: conditions in the given order (any others after
    them, in order of appearance), each condition's records in replicate order."""
    by_condition: dict[str, list[ReplicateRecord]] = {name: [] for name in conditions}
    for record in records:
        by_condition.setdefault(record.condition, []).append(record)
    for group in by_condition.values():
        group.sort(key=_by_replicate)  # already in order for most executors: linear
    return by_condition


#: Types of the values every JSON encoder writes as they are.
_LEAVES = frozenset({str, bool, type(None)})
#: Ints orjson writes: 64-bit signed or unsigned.
_ORJSON_INTS = range(-(1 << 63), 1 << 64)


def _plain(value: Any, odd: Callable[[Any], Any] | None = None, inside: set[int] | None = None) -> Any:
    """``value`` as plain JSON values, by :meth:`Result.to_dict`'s rules (a copy).

    ``odd``, when given, replaces each NaN, ±inf and int beyond 64 bits (what orjson
    does not write as :mod:`json` does). ``inside`` holds the ids of the values being
    converted around ``value``: a value met again inside itself (a list appended to
    itself) is given as its ``repr()`` text there, as the store keeps it, rather than
    converted until a RecursionError.
    """
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is float:
        return value if odd is None or isfinite(value) else odd(value)
    if kind is int:
        if value in _ORJSON_INTS:
            return value
        from crystallize.store.serialize import long_ints_as_text

        value = long_ints_as_text(value)  # hexadecimal text when too long for decimal text
        return value if odd is None or type(value) is str else odd(value)
    inside = set() if inside is None else inside
    if id(value) in inside:
        return _repr_text(value)
    inside.add(id(value))
    try:
        return _plain_parts(value, odd, inside)
    finally:
        inside.discard(id(value))


def _plain_parts(value: Any, odd: Callable[[Any], Any] | None, inside: set[int]) -> Any:
    """:func:`_plain` of a value that is no JSON leaf or number: a dict's or a list's
    items, or the JSON form of any other value (see :func:`_json_form`)."""
    kind = type(value)
    if kind is dict:
        plain = {
            key if type(key) is str else _key_text(key): item if type(item) in _LEAVES else _plain(item, odd, inside)
            for key, item in value.items()
        }
        # Keys JSON writes alike (1 and "1") have no JSON form: the dict as its text, as
        # the store keeps it, rather than one of the values dropped.
        return plain if len(plain) == len(value) else _repr_text(value)
    if kind is list or kind is tuple:
        return [item if type(item) in _LEAVES else _plain(item, odd, inside) for item in value]
    return _plain(_json_form(value), odd, inside)


def _json_form(value: Any) -> Any:
    """A value of no JSON type as one: a subclass of ``str``/``int``/``float``/``dict``
    as its base's value, of ``list``/``tuple`` as a list, a NumPy value as its Python
    value, a set as a sorted list, anything else (or one whose conversion raises) its
    ``repr()`` text (``<TYPE object: repr() failed>`` when that raises too)."""
    from crystallize.store.serialize import json_default

    try:
        for base in (str, int, float, dict):
            if isinstance(value, base):
                return base(value)
        if isinstance(value, list | tuple):
            return list(value)
        return json_default(value)
    except Exception:  # noqa: BLE001 - a user's value may raise anything: its text then
        return _repr_text(value)


def _repr_text(value: Any) -> str:
    """``repr(value)``, as the store writes a value it cannot hold (imported lazily:
    orjson is not loaded by ``import crystallize``)."""
    from crystallize.store.serialize import _repr_text as repr_text

    return repr_text(value)


def _key_text(key: Any) -> str:
    """The text JSON writes for dict key ``key`` (the store's rule; imported lazily:
    orjson is not loaded by ``import crystallize``)."""
    from crystallize.store.serialize import json_key_text

    return json_key_text(key)


def _as_fragment(value: float | int) -> Any:
    """NaN, ±inf or a long int as the JSON text :mod:`json` writes, for orjson."""
    import json

    import orjson

    return orjson.Fragment(json.dumps(value))


def _json_text(data: Any, indent: int | None = None) -> str:
    """``data`` as JSON text by :func:`_plain`'s rules, NaN and ±inf as ``NaN``/
    ``Infinity``/``-Infinity``, text as is (a lone surrogate, which UTF-8 cannot hold, as
    its ``\\u`` escape); by orjson when it can (``indent`` ``None`` or 2)."""
    import orjson

    if (indent is None or indent == 2) and hasattr(orjson, "Fragment"):  # orjson >= 3.9.11
        try:
            return orjson.dumps(_plain(data, _as_fragment), option=orjson.OPT_INDENT_2 if indent else 0).decode()
        except orjson.JSONEncodeError:  # text orjson refuses (a lone surrogate), deep nesting
            pass
    import json
    import re

    text = json.dumps(_plain(data), indent=indent, allow_nan=True, ensure_ascii=False)
    # UTF-8 has no form for a lone surrogate: it alone stays a \u escape
    return re.sub("[\ud800-\udfff]", _escaped, text)


def _escaped(match: Any) -> str:
    """The ``\\uXXXX`` escape of the character ``match`` found."""
    return f"\\u{ord(match.group()):04x}"


__all__ = ["ConditionMetrics", "ExperimentMetrics", "Result"]
