"""Assemble the self-contained HTML page of a Result.

Every user-provided string (experiment, condition, metric, hypothesis and step names,
info values, configuration values, warnings, error messages, tracebacks) goes through
:func:`esc`. The page has no scripts and no external resources: CSS is inline and plots
are inline SVG.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import statistics
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.reporting import format_value, judged_against, not_significant
from crystallize.reporting_html import plots
from crystallize.reporting_html.style import CSS
from crystallize.reporting_html.summary import (
    ComparisonRow,
    hypothesis_rows,
    metric_names,
    metric_summaries,
)
from crystallize.utils.text import surrogates_escaped

if TYPE_CHECKING:
    from crystallize.hypothesis import HypothesisResult
    from crystallize.result import Result


def esc(value: Any) -> str:
    """HTML-escape ``str(value)``, quotes included; a lone surrogate (text decoded with
    ``surrogateescape``), which the page's UTF-8 cannot hold, is shown as its ``\\u``
    escape (``\\ud800``), as ``Result.to_json`` writes it."""
    return html.escape(surrogates_escaped(str(value)), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A short display form of a number, interval or value (``–`` for ``None``)."""
    return format_value(value, digits, missing="–")


def _seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """An HTML table; ``header`` is escaped here, ``rows`` must hold ready HTML cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _name(text: str) -> str:
    """A name cell's HTML: it wraps within the column (``.name`` in the stylesheet) and
    keeps the full name as a tooltip."""
    return f'<span class="name" title="{esc(text)}">{esc(text)}</span>'


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


# -- sections ---------------------------------------------------------------------------
def metrics_section(result: Result) -> str:
    """Per metric: the distribution plot and a table of n, mean, sd, 95% CI, quartiles."""
    names = metric_names(result)
    if not names:
        return _section("metrics", "Metrics", _note("No metrics were recorded."))
    parts = []
    for index, metric in enumerate(names):
        listed = metric_summaries(result, metric, include_empty=True)  # the table counts every value
        summaries = [s for s in listed if s.n]  # the plot: conditions with finite numbers
        parts.append(f"<h3>{esc(metric)}</h3>")
        if not summaries:
            parts.append(_note("No finite numbers to plot (the metric holds only NaN, ±inf or non-numeric values)."))
        else:
            parts.append(f'<figure class="plot">{plots.distribution_plot(metric, summaries, f"m{index}")}</figure>')
            thinned = plots.thinned_points(summaries)
            if thinned:
                parts.append(_note(
                    f"Points show {thinned}, evenly spaced by rank (minimum and maximum included); "
                    "the boxes, means and CIs use all values."
                ))
        if not listed:
            continue
        rows = [
            [
                _name(s.condition), str(s.n), fmt(s.mean), fmt(s.sd), fmt(s.ci),
                fmt(s.median), fmt(s.minimum), fmt(s.maximum),
                str(s.skipped) if s.skipped else "",
            ]
            if s.n
            else [_name(s.condition), "0", "–", "–", "–", "–", "–", "–", str(s.skipped)]
            for s in listed
        ]
        parts.append(_table(
            ["condition", "n", "mean", "sd", "95% CI of mean", "median", "min", "max", "skipped"],
            rows, "num",
        ))
    legend = _note(
        "Points are replicate values; boxes span the quartiles with the median marked and "
        "whiskers to min and max; diamonds are means with their 95% t-based confidence "
        "interval (no interval for fewer than 2 values)."
    )
    return _section("metrics", "Metrics", legend + "".join(parts))


def _verdict(row: ComparisonRow) -> str:
    if row.error:
        return f'<span class="badge err">error</span> {esc(row.error)}'
    if row.significant is None:
        return "–"
    if row.significant:
        return '<span class="badge sig">significant</span>'
    return '<span class="badge ns">not significant</span>'


def _effect(row: ComparisonRow) -> str:
    if row.effect_size is None:
        return "–"
    name = f' <span class="dim">{esc(row.effect_size_name)}</span>' if row.effect_size_name else ""
    return f"{fmt(row.effect_size)}{name}"


def _extras(row: ComparisonRow) -> str:
    bits = [f"{esc(k)}={esc(fmt(v))}" for k, v in row.other]
    bits += [f'<span class="warn">{esc(n)}</span>' for n in row.notes]
    return "<br>".join(bits)


def _hypothesis_block(result: Result, hyp: HypothesisResult, index: int) -> str:
    settings = "".join(f"; {label}: {esc(value)}" for label, value in judged_against(result, hyp))
    parts = [
        f"<h3>{esc(hyp.name)}</h3>",
        f'<p class="meta">metrics: {esc(", ".join(hyp.metrics))}{settings}</p>',
    ]
    if hyp.error:
        parts.append(f'<p class="error-text">Could not be verified: {esc(hyp.error)}</p>')
        return "".join(parts)
    rows = hypothesis_rows(hyp)
    if not rows:
        parts.append(_note("No treatments to compare."))
        return "".join(parts)
    header = ["treatment", "metric", "effect size", "difference", "CI", "p", "p adjusted", "verdict"]
    body = [
        [
            _name(r.treatment), _name(r.metric), _effect(r), fmt(r.difference),
            fmt(r.ci) + (f' <span class="dim">{esc(r.ci_of)}</span>' if r.ci_of else ""),
            fmt(r.p_value), fmt(r.p_value_adjusted), _verdict(r), _extras(r),
        ]
        for r in rows
    ]
    if any(row[-1] for row in body):
        header.append("other")
    else:
        body = [row[:-1] for row in body]
    parts.append(_table(header, body, "num"))
    by_metric: dict[str, list[ComparisonRow]] = {}
    for row in rows:
        by_metric.setdefault(row.metric, []).append(row)
    for offset, metric_rows in enumerate(by_metric.values()):
        svg = plots.forest_plot(metric_rows, f"h{index}_{offset}")
        if svg is not None:
            parts.append(f'<figure class="plot">{svg}</figure>')
    if hyp.best is not None:
        note = " (not significant)" if not_significant(hyp, hyp.best) else ""
        parts.append(f'<p class="meta">Best ranked: <strong>{esc(hyp.best)}</strong>{note}</p>')
    return "".join(parts)


def hypotheses_section(result: Result) -> str:
    """Each hypothesis: a table of comparisons and a forest plot of the estimates and CIs."""
    if not result.hypotheses:
        if result.info.get("status") == "running":
            return _section("hypotheses", "Hypotheses", _note("Not tested yet: hypotheses are tested when the run has finished."))
        return _section("hypotheses", "Hypotheses", _note("No hypotheses were tested in this run."))
    legend = _note(
        "Forest plots show each treatment's estimated difference from the baseline with its "
        "confidence interval; green marks a significant result, and the dashed line is no "
        "difference."
    )
    blocks = "".join(_hypothesis_block(result, h, i) for i, h in enumerate(result.hypotheses))
    return _section("hypotheses", "Hypotheses", legend + blocks)


def warnings_section(result: Result) -> str:
    """The run's warnings, if any."""
    if not result.warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
    return _section("warnings", f"Warnings ({len(result.warnings)})", f'<ul class="warnings">{items}</ul>')


def errors_section(result: Result) -> str:
    """Failed replicates: condition, replicate, step and message, tracebacks folded."""
    if not result.errors:
        return ""
    rows = []
    for error in result.errors:
        message = f"<code>{esc(error.exception_type)}</code>: {esc(error.message)}"
        if error.traceback:
            message += f"<details><summary>traceback</summary><pre>{esc(error.traceback)}</pre></details>"
        rows.append([esc(error.condition), str(error.replicate), esc(error.step), message])
    table = _table(["condition", "replicate", "step", "error"], rows, "errors")
    count = len(result.errors)
    title = f"Errors ({count} failed replicate{'s' if count != 1 else ''})"
    return _section("errors", title, table)


def _info_value(key: str, value: Any) -> str:
    if key.endswith("_at") and isinstance(value, int | float) and not isinstance(value, bool):
        stamp = _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC)
        return esc(stamp.isoformat(timespec="seconds"))
    if isinstance(value, dict | list | tuple):
        return f"<code>{esc(json.dumps(value, default=repr, sort_keys=True))}</code>"
    return esc(fmt(value))


def run_section(result: Result) -> str:
    """The run: experiment, run id, base seed, code fingerprint and the rest of ``result.info``
    (its ``config`` has a section of its own, :func:`config_section`)."""
    fingerprint = result.info.get("fingerprint")
    rows = [
        ["experiment", esc(result.experiment)],
        ["run id", f"<code>{esc(result.run_id)}</code>" if result.run_id else "– (not stored)"],
        ["base seed", esc(fmt(result.base_seed))],
        ["code fingerprint", f"<code>{esc(fingerprint)}</code>" if fingerprint else "– (not recorded)"],
        ["conditions", esc(", ".join(result.conditions))],
    ]
    rows += [[esc(k), _info_value(k, v)] for k, v in result.info.items() if k not in ("fingerprint", "config")]
    return _section("run", "Run", _table(["", ""], rows, "kv"))


#: The rows of the Configuration section: ``result.info["config"]`` key and label.
_CONFIG_ROWS = (
    ("replicates", "replicates"),
    ("datasource", "datasource"),
    ("steps", "steps"),
    ("treatments", "treatments"),
    ("initial_ctx", "initial context"),
    ("hypotheses", "hypotheses"),
    ("plugins", "plugins"),
)


def config_section(result: Result) -> str:
    """What was run (``result.info["config"]``, see :mod:`crystallize.reporting_html.config`):
    replicates, datasource, steps, treatments, initial context, hypotheses and plugins,
    each with its parameters or settings."""
    config = result.info.get("config")
    if not isinstance(config, dict):
        return _section("config", "Configuration", _note(
            "The configuration was not recorded (a Result built by hand, or a run stored "
            "before Crystallize recorded it)."
        ))
    rows = [
        [esc(label), _config_cell(key, config[key]) if key in config else "– (not recorded)"]
        for key, label in _CONFIG_ROWS
    ]
    return _section("config", "Configuration", _table(["", ""], rows, "kv"))


def _config_cell(key: str, value: Any) -> str:
    """The HTML of one Configuration row's value (everything escaped)."""
    if key == "replicates":
        return esc(value)
    if key == "datasource":
        return _code(_call(value))
    if key == "initial_ctx":
        return _code(_args(value)) if value else "–"
    texts = {
        "steps": lambda: [_call(s) for s in value or ()],
        "treatments": lambda: [_treatment_text(t) for t in value or ()],
        "hypotheses": lambda: [_hypothesis_text(h) for h in value or ()],
        "plugins": lambda: [_call({"name": p.get("plugin"), "params": p.get("settings")}) for p in value or ()],
    }[key]()
    return "<br>".join(_code(t) for t in texts) if texts else "none"


def _code(text: str) -> str:
    return f"<code>{esc(text)}</code>"


def _args(values: Any) -> str:
    """``k=v, ...`` of a mapping (values as their repr); other values as text."""
    if not isinstance(values, dict):
        return str(values)
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _call(component: Any) -> str:
    """``name(k=v, ...)`` of a component ``{"name": ..., "params": {...}}``."""
    if not isinstance(component, dict):
        return "–"
    return f"{component.get('name')}({_args(component.get('params') or {})})"


def _treatment_text(item: dict[str, Any]) -> str:
    text = f"{item.get('name')}: {_args(item.get('values')) or 'no values'}"
    if item.get("datasource"):
        text += f"; datasource {_call(item['datasource'])}"
    if item.get("steps") is not None:
        text += f"; steps {', '.join(_call(s) for s in item['steps'])}"
    return text


def _hypothesis_text(item: dict[str, Any]) -> str:
    verifier = f"{item.get('verifier')}({_args(item.get('params') or {})})"
    text = f"{item.get('name')}: {verifier} on {', '.join(item.get('metrics') or ())}"
    if item.get("correction"):
        text += f", correction {item['correction']}"
    return text


def seeds_section(result: Result) -> str:
    """The seed of every condition × replicate."""
    conditions = result.metrics.conditions()
    seeds: dict[int, dict[str, Any]] = {}
    for record in result.records:
        seeds.setdefault(record.replicate, {})[record.condition] = record.seed
    if not seeds:
        return ""
    rows = [
        [str(rep)] + [esc(fmt(seeds[rep].get(c))) for c in conditions]
        for rep in sorted(seeds)
    ]
    table = _table(["replicate", *conditions], rows, "num")
    base = f"<p>Base seed: <code>{esc(fmt(result.base_seed))}</code>. Repeat the run with " \
        f"<code>SeedPlugin(seed={esc(fmt(result.base_seed))})</code>.</p>" if result.base_seed is not None else ""
    body = f"{base}<details><summary>Seeds per replicate ({len(rows)})</summary>{table}</details>"
    return _section("seeds", "Seeds", body)


def timings_section(result: Result) -> str:
    """Mean replicate duration per condition and mean duration of each step."""
    by_condition: dict[str, list[float]] = {c: [] for c in result.conditions}
    by_step: dict[str, list[float]] = {}
    for record in result.records:
        by_condition.setdefault(record.condition, []).append(record.duration)
        for step in record.steps:
            by_step.setdefault(step.name, []).append(step.duration)
    rows = [
        [_name(c), str(len(d)), _seconds(statistics.fmean(d)), _seconds(max(d)), _seconds(sum(d))]
        for c, d in by_condition.items() if d
    ]
    if not rows:
        return ""
    body = _table(["condition", "replicates", "mean duration", "max", "total"], rows, "num")
    if by_step:
        step_rows = [
            [esc(name), str(len(d)), _seconds(statistics.fmean(d)), _seconds(sum(d))]
            for name, d in by_step.items()
        ]
        body += "<h3>Steps</h3>" + _table(["step", "runs", "mean duration", "total"], step_rows, "num")
    return _section("timings", "Timings", body)


#: What the page says first about a stored run that did not complete, by its status.
_UNFINISHED = {
    "running": "Run still in progress: partial data, hypotheses not tested yet. This page shows "
    "the {n} record(s) stored so far; write the report again when the run has finished.",
    "interrupted": "Run interrupted: its driver process stopped before the run finished, so the "
    "data is partial{untested}. Resume it (strategy='resume') to finish it.",
    "cancelled": "Run cancelled before it finished: the data may be partial{untested}. Resume it "
    "(strategy='resume') to finish it.",
    "failed": "Run failed: the data may be partial{untested}; see the errors and warnings below.",
}


def status_banner(result: Result) -> str:
    """A banner saying the run is still going or did not complete (from the stored
    status in ``result.info``), or ``""`` for a completed run or one not from the store."""
    status = result.info.get("status")
    text = _UNFINISHED.get(status) if isinstance(status, str) else None
    if text is None:
        return ""
    untested = "" if result.hypotheses else " and hypotheses were not tested"
    kind = "" if status == "running" else " bad"
    return f'<p class="banner{kind}">{esc(text.format(n=len(result.records), untested=untested))}</p>'


def render_page(result: Result, title: str | None = None) -> str:
    """The whole HTML document for ``result``."""
    from crystallize import __version__

    heading = title or f"Experiment {result.experiment}"
    n_conditions = len(result.conditions)
    n_records = len(result.records)
    summary = (
        f"{n_records} replicate record(s) over {n_conditions} condition(s); "
        f"{len(result.errors)} failed; {len(result.hypotheses)} hypothesis result(s)"
    )
    sections = [
        metrics_section(result),
        hypotheses_section(result),
        warnings_section(result),
        errors_section(result),
        run_section(result),
        config_section(result),
        seeds_section(result),
        timings_section(result),
    ]
    titles = {
        "metrics": "Metrics", "hypotheses": "Hypotheses", "warnings": "Warnings",
        "errors": "Errors", "run": "Run", "config": "Configuration", "seeds": "Seeds", "timings": "Timings",
    }
    nav = " · ".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in titles.items()
        if any(s.startswith(f'<section id="{anchor}"') for s in sections)
    )
    run = f" · run <code>{esc(result.run_id)}</code>" if result.run_id else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(heading)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(heading)}</h1><p class=\"meta\">{esc(summary)}{run}</p>{status_banner(result)}"
        f"<nav>{nav}</nav></header><main>{''.join(sections)}</main>"
        f'<footer>Generated by Crystallize {esc(__version__)}. Self-contained: no scripts, '
        "no external resources.</footer></body></html>\n"
    )


__all__ = [
    "config_section",
    "errors_section",
    "esc",
    "fmt",
    "hypotheses_section",
    "metrics_section",
    "render_page",
    "run_section",
    "seeds_section",
    "status_banner",
    "timings_section",
    "warnings_section",
]
