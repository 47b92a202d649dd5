"""``crystallize diff``: what changed between two runs, or between two conditions of one run.

* ``crystallize diff RUN_A RUN_B`` — the experiment spec (datasource, steps and their
  code, treatments, initial context, seed settings) that differs, the run settings that
  differ (the producer runs of upstream outputs read included), and per condition and
  metric: mean in A, mean in B and the change B − A. Code digests that may have been
  computed by different Crystallize versions are flagged on a line of their own (see
  :func:`config_changes`).
* ``crystallize diff RUN --treatments A B`` — two conditions of one run (``baseline``
  counts as one): their treatment values and their metric means.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from crystallize.cli.app import command_help
from crystallize.cli.errors import UserError, known, suggest
from crystallize.cli.history import ROOT_OPTION_HELP, find_run, upstream_runs
from crystallize.cli.targets import stdout_to_stderr
from crystallize.cli.text import literal, stdout_console, typed_name, unbroken
from crystallize.utils.moments import mean_sd

if TYPE_CHECKING:
    from crystallize.result import Result


@dataclass(frozen=True)
class MetricChange:
    """One row of the metric comparison."""

    condition: str
    metric: str
    mean_a: float | None
    mean_b: float | None
    #: NaN/±inf values left out of ``mean_a`` and ``mean_b`` (as ``report()`` leaves them out).
    left_out: tuple[int, int] = (0, 0)

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a`` (``None`` when either is missing)."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a

    @property
    def relative(self) -> float | None:
        """The change relative to ``|mean_a|`` (``None`` when undefined)."""
        delta = self.delta
        if delta is None or not self.mean_a:
            return None
        return delta / abs(self.mean_a)


def mean_of(values: Sequence[Any]) -> float | None:
    """The mean of the finite numbers among ``values``, as ``report()`` takes it (NaN and
    ±inf, a number too large for a float included, are left out; ``None`` when no value
    is a finite number)."""
    return _finite_mean(values)[0]


def _finite_mean(values: Sequence[Any]) -> tuple[float | None, int]:
    """:func:`mean_of` and how many numbers were left out as NaN/±inf."""
    from crystallize.reporting import numbers_of

    numbers = numbers_of(values)
    finite = [x for x in numbers if math.isfinite(x)]
    return (mean_sd(finite)[0] if finite else None), len(numbers) - len(finite)


class _Absent:
    """The value of a key that one of the compared specs does not have."""

    def __repr__(self) -> str:
        return "(absent)"


#: Stands for a key present in only one of two specs (shown as ``(absent)``; a JSON
#: change leaves out its ``a`` or ``b``), unlike a value that is ``None``.
ABSENT: Any = _Absent()


def _item_label(x: Any, y: Any, index: int) -> str:
    """``[1]``, or ``[1:total]`` for an element named (a step, say) in both lists alike."""
    name = x.get("name") if isinstance(x, dict) else None
    same = isinstance(y, dict) and y.get("name") == name
    return f"[{index}:{name}]" if isinstance(name, str) and same else f"[{index}]"


def spec_changes(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """``(path, value in a, value in b)`` for every leaf of two specs that differs
    (:data:`ABSENT` for a key only the other has); a list element with a ``name`` (a
    step) is named in the path: ``steps[1:total].code``."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        changes = []
        for key in sorted(set(a) | set(b), key=str):
            changes += spec_changes(a.get(key, ABSENT), b.get(key, ABSENT), f"{path}.{key}" if path else str(key))
        return changes
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        changes = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            changes += spec_changes(x, y, f"{path}{_item_label(x, y, i)}")
        return changes
    return [(path or "spec", a, b)]


def config_changes(spec_a: dict[str, Any], spec_b: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]], list[str]]:
    """The :func:`spec_changes` of two runs' specs (every one, code digests included),
    and the paths among them of the code digests that may not be comparable: the runs'
    digests were computed under different digest schemes
    (:func:`~crystallize.fingerprint.digest_scheme_of`), or one run does not record its
    scheme (stored before specs recorded it: its digests are of this scheme or of an
    earlier one). The digest-scheme marker itself is no change."""
    from crystallize.fingerprint import DIGEST_SCHEME_KEY, digest_scheme_of

    specs = ({key: value for key, value in spec.items() if key != DIGEST_SCHEME_KEY} for spec in (spec_a, spec_b))
    changes = spec_changes(*specs)
    if digest_scheme_of(spec_a) == digest_scheme_of(spec_b):
        return changes, []
    return changes, [path for path, _, _ in changes if path.endswith(".code")]


def digests_note(spec_a: dict[str, Any], spec_b: dict[str, Any], paths: list[str]) -> str:
    """The line flagging the code digests :func:`config_changes` found may not be
    comparable (``""`` without ``paths``): ``Code digests not comparable (A's were
    computed by an earlier Crystallize version; they differ even for unchanged code):
    datasource.code, ...`` when both runs record their digest scheme, else ``Code digests
    changed, or A's were computed by an earlier Crystallize version (run A does not record
    its digest scheme): ...`` (the code may have been edited too: it cannot be told)."""
    from crystallize.fingerprint import CODE_DIGEST_SCHEME, digest_scheme_of

    if not paths:
        return ""
    schemes = {"A": digest_scheme_of(spec_a), "B": digest_scheme_of(spec_b)}
    unmarked = [side for side, scheme in schemes.items() if scheme is None]
    if unmarked:  # only one: two unmarked runs give no paths
        side = unmarked[0]
        return (
            f"Code digests changed, or {side}'s were computed by an earlier Crystallize version "
            f"(run {side} does not record its digest scheme): {', '.join(paths)}"
        )
    others = [(side, scheme) for side, scheme in schemes.items() if scheme != CODE_DIGEST_SCHEME]
    if len(others) == 1:
        side, scheme = others[0]
        version = "a newer" if scheme is not None and scheme > CODE_DIGEST_SCHEME else "an earlier"
        why = f"{side}'s were computed by {version} Crystallize version"
    else:
        why = "they were computed by different Crystallize versions"
    return f"Code digests not comparable ({why}; they differ even for unchanged code): {', '.join(paths)}"


def change_json(path: str, a: Any, b: Any, key: str = "path") -> dict[str, Any]:
    """A change for ``--json``: ``{key: path, "a": ..., "b": ...}`` without the side
    that is :data:`ABSENT`."""
    return {key: path, **{side: value for side, value in (("a", a), ("b", b)) if value is not ABSENT}}


def metric_changes(pairs: Sequence[tuple[str, dict[str, list[Any]], dict[str, list[Any]]]]) -> list[MetricChange]:
    """Rows for ``(condition, metrics in A, metrics in B)`` triples, every metric of either."""
    rows = []
    for condition, left, right in pairs:
        for metric in sorted(set(left) | set(right)):
            mean_a, left_out_a = _finite_mean(left.get(metric, []))
            mean_b, left_out_b = _finite_mean(right.get(metric, []))
            rows.append(MetricChange(condition, metric, mean_a, mean_b, (left_out_a, left_out_b)))
    return rows


def compare_runs(a: Result, b: Result) -> list[MetricChange]:
    """Metric rows for every condition in either run."""
    left = a.metrics.conditions()
    right = b.metrics.conditions()
    names = [*left, *[n for n in right if n not in left]]
    return metric_changes(
        [(n, left[n].metrics if n in left else {}, right[n].metrics if n in right else {}) for n in names]
    )


def compare_conditions(result: Result, first: str, second: str) -> list[MetricChange]:
    """Metric rows comparing two conditions of one run (condition column: ``A → B``)."""
    conditions = result.metrics.conditions()
    for name in (first, second):
        if name not in conditions:
            raise UserError(
                f"run '{result.run_id}' has no condition '{name}'.{suggest(name, conditions)}"
                f"{known(conditions, 'conditions')}"
            )
    return metric_changes([(f"{first} → {second}", conditions[first].metrics, conditions[second].metrics)])


def condition_values(spec: dict[str, Any], condition: str) -> Any:
    """The context values condition ``condition`` starts with: initial_ctx plus its treatment's."""
    initial = dict(spec.get("initial_ctx") or {})
    if condition == "baseline":
        return initial
    treatment = (spec.get("treatments") or {}).get(condition, {})
    if isinstance(treatment, dict) and "values" in treatment and ("steps" in treatment or "datasource" in treatment):
        values = treatment.get("values")
        rest = {k: v for k, v in treatment.items() if k != "values"}
        return {**initial, **(values if isinstance(values, dict) else {"values": values}), **rest}
    return {**initial, **treatment} if isinstance(treatment, dict) else {**initial, "values": treatment}


#: Characters a changed value shows at most in ``crystallize diff``.
VALUE_WIDTH = 48
#: Characters kept at least before the first difference when values are shown from there.
DIFFERENCE_CONTEXT = 16


def _text(value: Any) -> str:
    """A config value as text: a string as it is, anything else as JSON."""
    if value is ABSENT:
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value, default=repr, sort_keys=True)


def _cut(text: str, start: int, width: int) -> str:
    """``text`` from ``start`` on, at most ``width`` characters, ``…`` where it was cut."""
    head = "…" if start else ""
    rest = text[start:]
    room = width - len(head)
    return head + (rest if len(rest) <= room else rest[: room - 1] + "…")


def shown_change(a: Any, b: Any, width: int = VALUE_WIDTH) -> tuple[str, str]:
    """How ``a → b`` shows: each value cut to ``width`` characters; when the cut values
    would look the same, both start before the first character where they differ
    (``…/path/to/checkpoints/model_epoch_10.pt``). Different values never show alike (a string and a
    number of the same text show as Python literals: ``'1' → 1``)."""
    texts = _text(a), _text(b)
    if texts[0] == texts[1]:
        texts = repr(a), repr(b)
    start = 0
    if _cut(texts[0], 0, width) == _cut(texts[1], 0, width):  # as far on as the longer one's end allows
        differs = len(os.path.commonprefix(texts))
        start = max(0, min(differs - DIFFERENCE_CONTEXT, max(map(len, texts)) - (width - 1)))
    return _cut(texts[0], start, width), _cut(texts[1], start, width)


def _metric_table(rows: list[MetricChange], label_a: str, label_b: str):  # noqa: ANN202
    """The metric rows as a rich table; names (conditions, metrics, labels) shown
    literally and, like the numbers, never cut (see :func:`unbroken`)."""
    from rich.table import Table

    from crystallize.reporting import format_value
    from crystallize.terminal_chart import WholeTable

    table = Table(box=None, pad_edge=False, header_style="bold")
    cells = [
        [
            row.condition,
            row.metric,
            format_value(row.mean_a),
            format_value(row.mean_b),
            f"{'+' if row.delta and row.delta > 0 else ''}{format_value(row.delta)}",
            "-" if row.relative is None else f"{row.relative:+.1%}",
        ]
        for row in rows
    ]
    headers = ("condition", "metric", f"mean {label_a}", f"mean {label_b}", "delta", "change")
    for i, column in enumerate(headers):
        justify = "left" if i < 2 else "right"  # names, then numbers: none is ever cut
        table.add_column(literal(column), justify=justify, **unbroken(column, [line[i] for line in cells]))
    for row, line in zip(rows, cells, strict=True):
        style = "" if not row.delta else ("green" if row.delta > 0 else "red")
        table.add_row(*[literal(cell, style=style if i == 4 else "") for i, cell in enumerate(line)])
    return WholeTable(table)


def _left_out_note(rows: list[MetricChange], label_a: str, label_b: str, *, name_conditions: bool) -> str:
    """``NaN/±inf values left out of the means, as in the report: ratio (1 in A, 0 in
    B)`` (the condition before the metric when ``name_conditions``), or ``""`` when
    every number was finite."""
    parts = [
        f"{f'{row.condition} ' if name_conditions else ''}{row.metric} "
        f"({row.left_out[0]} in {label_a}, {row.left_out[1]} in {label_b})"
        for row in rows
        if any(row.left_out)
    ]
    return f"NaN/±inf values left out of the means, as in the report: {'; '.join(parts)}" if parts else ""


def execution_of(result: Result) -> str | None:
    """How a run executed its replicates (``ParallelExecution(thread, max_workers=2)``,
    ``SerialExecution``), from the configuration stored with it; ``None`` for runs
    stored before it was recorded."""
    plugins = (result.info.get("config") or {}).get("plugins") or []
    for plugin in plugins:
        name = str(plugin.get("plugin", ""))
        if name.endswith("Execution"):
            settings = plugin.get("settings") or {}
            kind = [str(settings["executor_type"])] if "executor_type" in settings else []
            parts = kind + [f"{k}={v}" for k, v in settings.items() if k != "executor_type"]
            return f"{name}({', '.join(parts)})" if parts else name
    return None


@command_help("Show the config and metric differences between two runs (or two treatments of one).")
def diff_command(
    run_a: str = typer.Argument(..., help="A run id (or a unique prefix)."),
    run_b: str | None = typer.Argument(None, help="Another run id (omit with --treatments)."),
    treatments: tuple[str, str] | None = typer.Option(
        None, "--treatments", metavar="A B", help="Compare two conditions of RUN_A instead of two runs."
    ),
    root: str | None = typer.Option(None, "--root", help=ROOT_OPTION_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print the differences as JSON."),
) -> None:
    from crystallize.store import load_result

    if (run_b is None) == (treatments is None):
        raise UserError("give two run ids (crystallize diff RUN_A RUN_B) or one run and --treatments A B.")
    with stdout_to_stderr(json_output):  # finding runs imports experiment folders
        where_a, info_a = find_run(run_a, root)
        result_a = load_result(info_a.run_id, where_a)
    if treatments is not None:
        first, second = (typed_name(name, result_a.metrics.conditions()) for name in treatments)
        rows = compare_conditions(result_a, first, second)
        changes = spec_changes(condition_values(info_a.spec, first), condition_values(info_a.spec, second))
        digests: list[str] = []
        note = ""
        settings: list[tuple[str, Any, Any]] = []
        labels = (first, second)
        title = f"Run {info_a.run_id} ({info_a.experiment}): {first} vs {second}"
    else:
        assert run_b is not None
        with stdout_to_stderr(json_output):
            where_b, info_b = find_run(run_b, root)
            result_b = load_result(info_b.run_id, where_b)
        rows = compare_runs(result_a, result_b)
        changes, digests = config_changes(info_a.spec, info_b.spec)
        note = digests_note(info_a.spec, info_b.spec, digests)
        settings = [
            (key, getattr(info_a, key), getattr(info_b, key))
            for key in ("experiment", "replicates", "base_seed", "status")
            if getattr(info_a, key) != getattr(info_b, key)
        ]
        executions = execution_of(result_a), execution_of(result_b)
        if None not in executions and executions[0] != executions[1]:  # thread runs may not reproduce
            settings.append(("execution", *executions))
        upstream = upstream_runs(info_a), upstream_runs(info_b)
        if None not in upstream:  # producer runs read; not recorded for older runs
            settings += spec_changes(*upstream, "upstream")
        labels = ("A", "B")
        title = f"A = run {info_a.run_id} ({info_a.experiment}), B = run {info_b.run_id} ({info_b.experiment})"
    if json_output:
        from crystallize.store.serialize import strict_dumps

        print(strict_dumps({
            "config": [change_json(p, a, b) for p, a, b in changes],
            "code_digests_not_comparable": digests,
            "settings": [change_json(k, a, b, key="key") for k, a, b in settings],
            "metrics": [
                {
                    **({"condition_a": labels[0], "condition_b": labels[1]} if treatments else {"condition": r.condition}),
                    "metric": r.metric, "mean_a": r.mean_a, "mean_b": r.mean_b,
                    "delta": r.delta, "left_out_a": r.left_out[0], "left_out_b": r.left_out[1],
                }
                for r in rows
            ],
        }))
        return
    console = stdout_console()
    console.print(literal(title, style="bold"), soft_wrap=True)
    console.print()
    what = "Context values" if treatments is not None else "Config"
    if changes or settings:
        console.print(f"{what} differences:", style="bold")
        for path, a, b in [*changes, *settings]:
            shown_a, shown_b = shown_change(a, b)
            console.print(literal(f"  {path}: {shown_a} → {shown_b}"), soft_wrap=True)
    elif not note:
        console.print(f"{what}: identical", soft_wrap=True)
    if note:
        console.print(literal(note), soft_wrap=True)
    console.print()
    if rows:
        console.print(_metric_table(rows, *labels), crop=False)
        left_out = _left_out_note(rows, *labels, name_conditions=treatments is None)
        if left_out:
            console.print(literal(left_out), soft_wrap=True)
    else:
        console.print("No metrics to compare.")


__all__ = ["ABSENT", "MetricChange", "change_json", "compare_conditions", "condition_values", "compare_runs", "config_changes", "diff_command", "digests_note", "mean_of", "metric_changes", "shown_change", "spec_changes"]
