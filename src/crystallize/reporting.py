"""Plain-text rendering of a :class:`~crystallize.result.Result`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any

from crystallize.utils.moments import mean_sd
from crystallize.utils.text import one_line, printable, surrogates_escaped

if TYPE_CHECKING:
    from crystallize.hypothesis import HypothesisResult
    from crystallize.result import Result


def numbers_of(values: Sequence[Any]) -> list[float]:
    """The values that are numbers, as floats (one too large for a float as ±inf), but
    for integers a float cannot hold exactly (beyond ``2**53``), kept as Python ints so
    that :func:`~crystallize.utils.moments.mean_sd` summarises them exactly."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, bool):
            out.append(float(value))
        elif isinstance(value, int | float) or hasattr(value, "__float__"):
            number = as_float(value)
            if number is not None:
                plain = type(value) is float or (type(value) is int and -_EXACT <= value <= _EXACT)
                out.append(number if plain else exact_integer(value, number))
    return out


#: Integers up to this magnitude are exact as floats.
_EXACT = 2**53


def exact_integer(value: Any, number: float) -> Any:
    """``value`` as a Python int when it is an integer (not a bool) that its float,
    ``number``, does not hold exactly but for which that float is finite; else ``number``."""
    if type(value) is int:  # the common case first
        exact = value
    elif type(value) is float or isinstance(value, bool) or not isinstance(value, Integral):
        return number
    else:
        exact = int(value)  # a NumPy integer
    return exact if exact != number and math.isfinite(number) else number


def as_float(value: Any) -> float | None:
    """``float(value)``; ±inf for a number too large for a float (``10**400``); ``None``
    when ``value`` has no float form."""
    try:
        return float(value)
    except OverflowError:
        try:
            return math.inf if value > 0 else -math.inf
        except TypeError:
            return None
    except (TypeError, ValueError):
        return None


def format_value(value: Any, digits: int = 4, missing: str = "-") -> str:
    """A short display form of a number, an interval (a pair) or any value."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"[{format_value(value[0], digits, missing)}, {format_value(value[1], digits, missing)}]"
    return str(value)


def metric_summary(values: Sequence[Any]) -> str:
    """``mean ± sd (n=N)`` of the finite numeric values (``value (n=1)`` for one); how
    many values were left out (NaN or ±inf — numbers too large for a float count as
    ±inf —, ``None``, other non-numeric values) is said after ``n``. A count when no
    value is a finite number."""
    numbers = numbers_of(values)
    if not numbers:
        return f"n={len(values)} (non-numeric)"
    finite = [x for x in numbers if math.isfinite(x)]
    if not finite:
        return f"n={len(numbers)} (none finite: NaN or ±inf)"
    mean, sd = mean_sd(finite)
    nones = sum(value is None for value in values)
    left_out = [
        f"{count} {what}"
        for count, what in (
            (len(numbers) - len(finite), "NaN/±inf"),
            (nones, "None"),
            (len(values) - len(numbers) - nones, "non-numeric"),
        )
        if count
    ]
    extra = f", {', '.join(left_out)} left out" if left_out else ""
    spread = f" ± {format_value(sd)}" if len(finite) > 1 else ""  # no spread in one value
    return f"{format_value(mean)}{spread} (n={len(finite)}{extra})"


#: The text report's metrics table is laid out one row per condition × metric when one
#: column per metric would make it wider than this many columns (or than the terminal,
#: when that is narrower); the width the report fits when stdout is no terminal.
TABLE_WIDTH = 120


def report_width() -> int:
    """The width :func:`render_report` fits by default: ``COLUMNS`` when it is set, else
    the width of the terminal stdout is, else (a file, a pipe, a notebook)
    :data:`TABLE_WIDTH`: a report made away from a terminal does not depend on the
    terminal it was started from."""
    import os
    import sys

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if sys.stdout is not None and sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns or TABLE_WIDTH
    except (AttributeError, OSError, ValueError):  # closed, or not a real stream
        pass
    return TABLE_WIDTH


def _metrics_table(conditions: dict[str, Any], metric_names: list[str], width: int) -> list[str]:
    """The metrics table of ``conditions`` (name → ConditionMetrics): a row per condition
    and a column per metric, or, when that is wider than ``width`` columns, a row per
    condition × metric (unless that is no narrower: one metric of a long-named condition)."""
    from rich.cells import cell_len

    cells = {
        name: [metric_summary(cm.metrics[m]) if m in cm.metrics else "-" for m in metric_names]
        for name, cm in conditions.items()
    }
    wide = _table([["condition", *metric_names], *([name, *row] for name, row in cells.items())])
    widest = max(cell_len(line) for line in wide)
    if widest <= width:
        return wide
    rows = [["condition", "metric", "mean ± sd"]]
    rows += [[name, m, cell] for name, row in cells.items() for m, cell in zip(metric_names, row, strict=True)]
    long = _table(rows)
    return long if max(cell_len(line) for line in long) < widest else wide  # a long name alone stays wide


def _table(rows: list[list[str]], width: int | None = None, wrap: frozenset[int] = frozenset()) -> list[str]:
    """``rows`` (the first is the header) as aligned text lines, padded by display width:
    CJK characters and emoji take two columns in a terminal. Control characters in the
    cells (a metric named with a terminal escape, a newline or a tab) are written as
    escapes (:func:`~crystallize.utils.text.one_line`) before the columns are measured.

    When the lines would be wider than ``width``, the columns in ``wrap`` (free text)
    wrap between words, never inside one, a row then taking several lines; the other
    columns (names, numbers, intervals) are never cut or wrapped. When even that is not
    enough, the lines are longer than ``width``. Lines end without trailing spaces.
    """
    from rich.cells import cell_len

    rows = [[one_line(cell) for cell in row] for row in rows]  # names may hold control characters
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    if width is not None and wrap:
        widths = _fitted(rows, widths, width, wrap)
    cells = [[_wrapped(cell, widths[i]) if i in wrap else [cell] for i, cell in enumerate(row)] for row in rows]
    widths = [max(cell_len(line) for row in cells for line in row[i]) for i in range(len(widths))]
    lines = []
    for row in cells:
        for k in range(max(len(cell) for cell in row)):
            parts = [cell[k] if k < len(cell) else "" for cell in row]
            lines.append("  ".join(part + " " * (w - cell_len(part)) for part, w in zip(parts, widths, strict=True)).rstrip())
    lines.insert(max(len(cell) for cell in cells[0]), "  ".join("-" * w for w in widths))  # under the header
    return lines


def _fitted(rows: list[list[str]], widths: list[int], width: int, wrap: frozenset[int]) -> list[int]:
    """``widths`` with the ``wrap`` columns narrowed (the widest first, never below their
    longest word) until the table's lines are at most ``width`` columns, or as far as
    they go."""
    from rich.cells import cell_len

    widths = list(widths)
    floor = {i: max((cell_len(word) for row in rows for word in row[i].split()), default=1) for i in wrap}
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    while excess > 0:
        narrowable = [i for i in wrap if widths[i] > floor[i]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` as lines at most ``width`` columns wide, broken between words only (a
    word wider than ``width`` has a line of its own); ``[text]`` when it fits."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return [text]
    lines: list[str] = []
    for word in text.split():
        if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


#: Verifier output keys with a column or a use of their own; a verifier's other scalar
#: outputs (a custom one's ``gain``, say) are shown as "other".
STANDARD_KEYS = frozenset({
    "test", "metric", "alpha", "alternative", "p_value", "p_value_adjusted", "significant",
    "effect_size", "effect_size_name", "ci", "ci_of", "ci_level", "n_baseline",
    "n_treatment", "mean_baseline", "mean_treatment", "difference", "warnings", "correction",
    "statistic", "df", "n_pairs", "table", "odds_ratio_ci", "error", "ranking_error",
})


def other_fields(entry: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The scalar outputs of a verifier that have no column of their own."""
    return tuple(
        (str(k), v) for k, v in entry.items() if k not in STANDARD_KEYS and isinstance(v, int | float | str | bool)
    )


def _hypothesis_rows(hyp: HypothesisResult) -> list[list[str]]:
    rows = [["treatment", "metric", "difference", "CI", "effect size", "p", "p adj", "verdict"]]
    others: list[str] = []
    ranked = set(hyp.ranking)
    for treatment in [*hyp.ranking, *(t for t in hyp.results if t not in ranked)]:
        output = hyp.results.get(treatment, {})
        if "error" in output:
            rows.append([treatment, "-", "-", "-", "-", "-", "-", "error (see below)"])
            others.append("")
            continue
        for metric, entry in metric_entries(hyp, output):
            significant = entry.get("significant")
            verdict = "-" if significant is None else ("significant" if significant else "not significant")
            effect = format_value(entry.get("effect_size"))
            if entry.get("effect_size_name") and effect != "-":
                effect += f" {entry['effect_size_name']}"
            rows.append([
                treatment,
                str(metric),
                format_value(entry.get("difference")),
                format_value(entry.get("ci")),
                effect,
                format_value(entry.get("p_value")),
                format_value(entry.get("p_value_adjusted")),
                verdict,
            ])
            others.append(", ".join(f"{k}={format_value(v)}" for k, v in other_fields(entry)))
    if any(others):  # a custom verifier's own numbers
        rows[0].append("other")
        for row, other in zip(rows[1:], others, strict=True):
            row.append(other or "-")
    return rows


def _hypothesis_table(hyp: HypothesisResult, width: int) -> list[str]:
    """The lines of ``hyp``'s table, fitting ``width`` columns by wrapping its ``other``
    column (free text: ``key=value, ...``) between words; the other columns (names,
    numbers, intervals, p-values, verdicts) are never cut or wrapped."""
    rows = _hypothesis_rows(hyp)
    return _table(rows, width, wrap=frozenset({rows[0].index("other")}) if "other" in rows[0] else frozenset())


def metric_entries(hyp: HypothesisResult, output: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(metric, result)`` pairs of one verifier output: flat, or ``{metric: result}``
    keyed by the hypothesis's metrics (another dict value, say ``"params": {...}``, is
    part of a flat output)."""
    if "p_value" in output or "significant" in output:
        return [(output.get("metric", ", ".join(hyp.metrics)), output)]
    nested = [(k, v) for k, v in output.items() if isinstance(v, dict) and k in hyp.metrics]
    return nested or [(output.get("metric", ", ".join(hyp.metrics)), output)]


def _comparison_notes(hyp: HypothesisResult) -> list[str]:
    """Lines under the table: why a comparison failed (its row only says ``error (see
    below)``, so a long message does not widen the table), and the verifiers' warnings
    (``PairedByReplicate``, ``RepeatedValues``, scipy's...): a verdict they qualify must
    not look unqualified."""
    lines: list[str] = []
    for treatment, output in hyp.results.items():
        if "error" in output:
            lines.append(f"  ! {one_line(treatment)}: error: {_message(output['error'])}")
            continue
        for metric, entry in metric_entries(hyp, output):
            for warning in entry.get("warnings") or []:
                lines.append(f"  ! {one_line(treatment)} / {one_line(metric)}: {_message(warning)}")
    return lines


def _ci_note(hyp: HypothesisResult) -> str | None:
    """What the CI column is an interval of (e.g. "CI: 95% interval of the difference in
    means"), from the verifiers' ``ci_level`` and ``ci_of``; ``None`` when none say."""
    seen: list[str] = []
    for output in hyp.results.values():
        for _, entry in metric_entries(hyp, output) if "error" not in output else []:
            if entry.get("ci_of") is None:
                continue
            level = entry.get("ci_level")
            text = f"{level:.0%} interval of the {entry['ci_of']}" if isinstance(level, float) else f"interval of the {entry['ci_of']}"
            if text not in seen:
                seen.append(text)
    return f"CI: {'; '.join(seen)}" if seen else None


_SIDES = {"greater": "greater (treatment > baseline)", "less": "less (treatment < baseline)"}


def _settings(hyp: HypothesisResult, key: str) -> str | None:
    """The verifiers' ``alpha`` or ``alternative`` (``key``) across the hypothesis's
    results, joined if they differ; ``None`` when no result says (a custom verifier)."""
    seen: list[str] = []
    for output in hyp.results.values():
        for _, entry in metric_entries(hyp, output) if "error" not in output else []:
            value = entry.get(key)
            if value is None:
                continue
            text = _SIDES.get(value, value) if key == "alternative" else format_value(value)
            if text not in seen:
                seen.append(text)
    return " / ".join(seen) if seen else None


def _configured(config: Any, key: str) -> str | None:
    """``alpha`` or ``alternative`` (``key``) of a hypothesis's verifier as the run's
    recorded configuration (``result.info["config"]["hypotheses"][i]``) says: the
    parameter it was given, else the default of the built-in verifier
    (:mod:`crystallize.stats`) it names; ``None`` when neither says."""
    if not isinstance(config, dict):
        return None
    params = config.get("params")
    value = params.get(key) if isinstance(params, dict) else None
    if value is None and isinstance(config.get("verifier"), str):
        import inspect

        import crystallize.stats as stats

        factory = getattr(stats, config["verifier"], None) if config["verifier"] in getattr(stats, "__all__", ()) else None
        try:
            default = inspect.signature(factory).parameters[key].default if callable(factory) else None
        except (KeyError, TypeError, ValueError):
            default = None
        value = None if default is inspect.Parameter.empty else default
    if value is None or isinstance(value, bool):
        return None
    if key == "alternative":
        return _SIDES.get(value, value) if isinstance(value, str) else None
    return format_value(value) if isinstance(value, int | float) else None


def judged_against(result: Result, hyp: HypothesisResult) -> list[tuple[str, str]]:
    """``[("alpha", "0.1"), ("alternative", "greater (...)"), ("correction", "holm")]``:
    what the verdicts of ``hyp`` were judged against, from its results, else (every
    comparison failed) from the run's recorded configuration of the hypothesis
    (``result.info["config"]``, see :func:`_configured`); the parts neither says are
    left out. The text and HTML reports show them."""
    recorded = result.info.get("config")
    items = recorded.get("hypotheses") if isinstance(recorded, dict) else None
    config = next(
        (item for item in items or [] if isinstance(item, dict) and item.get("name") == hyp.name), None
    )
    settings = (
        ("alpha", _settings(hyp, "alpha") or _configured(config, "alpha")),
        ("alternative", _settings(hyp, "alternative") or _configured(config, "alternative")),
        ("correction", hyp.correction),
    )
    return [(label, value) for label, value in settings if value]


def _hypothesis_header(result: Result, hyp: HypothesisResult) -> str:
    """``Hypothesis 'h' on m, alpha: 0.1, alternative: greater (...), correction: holm``
    (see :func:`judged_against`)."""
    header = f"Hypothesis '{hyp.name}' on {', '.join(hyp.metrics)}"
    return header + "".join(f", {label}: {value}" for label, value in judged_against(result, hyp))


def _best_line(hyp: HypothesisResult) -> str | None:
    """``Best: <treatment>`` (``(not significant)`` after it when its verdict, like every
    row's, says so), or why no treatment could be ranked (``None``: nothing to say)."""
    if hyp.best is not None:
        return f"Best: {hyp.best}" + (" (not significant)" if not_significant(hyp, hyp.best) else "")
    outputs = [o for o in hyp.results.values() if isinstance(o, dict)]
    if outputs and all("error" in o for o in outputs):
        return "Best: none (every comparison failed, so no treatment could be ranked; see the errors above)"
    if outputs and all("error" in o or "ranking_error" in o for o in outputs):
        return (
            "Best: none (no treatment could be ranked: the ranker raised for every treatment "
            "whose comparison succeeded; see 'ranking_error' in the results)"
        )
    if hyp.scores:
        return (
            "Best: none (no treatment could be ranked: the ranker's score was NaN for every "
            "treatment; the default ranker needs a numeric 'p_value' in the verifier's "
            "output, else give the Hypothesis a ranker=fn(result) -> float)"
        )
    return None


def not_significant(hyp: HypothesisResult, treatment: str) -> bool:
    """Whether the verdicts of ``treatment`` (one per metric) all say "not significant";
    ``False`` when its verifier gives no ``significant`` flag."""
    flags = [entry.get("significant") for _, entry in metric_entries(hyp, hyp.results[treatment])]
    flags = [flag for flag in flags if flag is not None]
    return bool(flags) and not any(flags)


def _message(text: object) -> str:
    """A message (an error, a warning) as the report shows it: control characters but
    newline and tab written as escapes (:func:`~crystallize.utils.text.printable`), and
    lone surrogates too (``\\udce9``: a file name decoded with ``surrogateescape``, say),
    as ``to_json`` writes them, so that printing the report works under any encoding."""
    return surrogates_escaped(printable(text))


def render_report(result: Result, width: int | None = None) -> str:
    """Render ``result`` as text: metrics per condition, hypotheses, then errors.

    The tables fit ``width`` columns: the metrics table has a column per metric, or a row
    per condition × metric when that would be wider; a hypothesis table wraps its free
    text (the ``other`` column: a verifier's own outputs) between words. Names, numbers,
    p-values and intervals are never cut or wrapped: when they alone are wider, so are
    the lines. ``None`` fits the width of stdout (:func:`report_width`: ``COLUMNS``, else
    the terminal's, else :data:`TABLE_WIDTH`), the metrics table at most
    :data:`TABLE_WIDTH`.

    Control characters in names (experiment, conditions, metrics, hypotheses, a
    verifier's outputs) are written as escapes (``\\x1b``; a newline or tab in a name as
    ``\\n``, ``\\t``) before the tables are laid out, so that printing the report cannot
    drive the terminal and the columns stay aligned; in messages (errors, warnings) all
    but newline and tab are, as :func:`~crystallize.utils.text.printable` writes them.
    Lone surrogates (text decoded with ``surrogateescape``), which no encoding can
    write, are written as escapes (``\\udce9``) everywhere, as ``to_json`` writes them.
    """
    fit = report_width() if width is None else width
    metrics_width = min(fit, TABLE_WIDTH) if width is None else width
    lines = [f"Experiment: {one_line(result.experiment)}"]
    if result.run_id:
        lines.append(f"Run: {result.run_id}")
    if result.base_seed is not None:
        lines.append(f"Base seed: {result.base_seed}")
    conditions = result.metrics.conditions()
    n_records = len(result.records)
    lines.append(f"Replicates: {n_records} record(s) over {len(conditions)} condition(s), {len(result.errors)} failed")
    lines.append("")
    # Every condition's metric names, first seen first (a dict: linear in the names).
    metric_names = list(dict.fromkeys(name for cm in conditions.values() for name in cm.metrics))
    if metric_names:
        lines.append("Metrics (mean ± sd)")
        lines += _metrics_table(conditions, metric_names, metrics_width)
    else:
        lines.append("No metrics were recorded.")
    for hyp in result.metrics.hypotheses:
        lines.append("")
        lines.append(one_line(_hypothesis_header(result, hyp)))
        error = getattr(hyp, "error", None)
        if error:
            lines.append(f"  could not be verified: {_message(error)}")
            continue
        if not hyp.results:
            lines.append("  no treatments to compare")
            continue
        lines += _hypothesis_table(hyp, fit)
        note = _ci_note(hyp)
        if note is not None:
            lines.append(one_line(note))
        lines += _comparison_notes(hyp)
        best = _best_line(hyp)
        if best is not None:
            lines.append(one_line(best))
    if result.warnings:
        lines.append("")
        lines.append("Warnings")
        lines += [f"  - {_message(w)}" for w in result.warnings]
    if result.errors:
        lines.append("")
        lines.append(f"Errors ({len(result.errors)})")
        shown = result.errors[:10]
        lines += [f"  - {_message(e)}" for e in shown]
        if len(result.errors) > len(shown):
            more = len(result.errors) - len(shown)
            lines.append(f"  ... and {more} more (all in result.errors, or: crystallize show NAME --tracebacks)")
    return "\n".join(lines)


__all__ = [
    "STANDARD_KEYS", "TABLE_WIDTH", "as_float", "format_value", "judged_against", "metric_entries", "metric_summary",
    "not_significant", "numbers_of", "other_fields", "render_report", "report_width",
]
