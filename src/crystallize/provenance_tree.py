"""Rendering a Result's provenance as a tree (rich).

The labels are drawn in characters the console's encoding has: on an ASCII, latin-1 or
cp1252 output ``→`` shows as ``->`` and a name's other missing characters as ``?`` (see
:func:`crystallize.terminal_chart.for_encoding`); rich draws the guide lines in ASCII
there itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.tree import Tree

    from crystallize.result import Result


class _Label:
    """A rich markup label, drawn in characters the console's encoding has."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _text(self, encoding: str | None) -> Any:
        from rich.text import Text

        from crystallize.terminal_chart import for_encoding

        return Text.from_markup(for_encoding(self.markup, encoding))

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self._text(options.encoding)

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        return self._text(options.encoding).__rich_measure__(console, options)

    def __str__(self) -> str:
        return self.markup


def _step_label(step: dict[str, Any]) -> str:
    from rich.markup import escape

    cache = " [green](cache hit)[/]" if step["cache_hit"] else ""
    params = escape(", ".join(f"{k}={v!r}" for k, v in step["params"].items()))
    return f"[bold]{escape(step['name'])}[/]({params}) {step['duration'] * 1e3:.2f} ms{cache}"


def provenance_tree(result: Result, max_replicates: int | None = None) -> Tree:
    """A rich Tree: conditions → replicates (seed, time) → steps with hashes and reads."""
    from rich.markup import escape
    from rich.tree import Tree

    def add(node: Tree, markup: str) -> Tree:
        return node.add(_Label(markup))

    root = Tree(_Label(f"[bold]{escape(result.experiment)}[/]" + (f" run {result.run_id}" if result.run_id else "")))
    for condition, entries in result.provenance.items():
        branch = add(root, f"[cyan]{escape(condition)}[/] ({len(entries)} replicate(s))")
        shown = entries if max_replicates is None else entries[:max_replicates]
        for entry in shown:
            status = "[red]failed[/]" if entry["error"] else "ok"
            rep = add(
                branch,
                f"replicate {entry['replicate']}: seed {entry['seed_used']}, "
                f"{entry['duration'] * 1e3:.2f} ms, {status}"
            )
            for step in entry["steps"]:
                node = add(rep, _step_label(step))
                add(node, f"in {(step['input_hash'] or '?')[:12]} → out {(step['output_hash'] or '?')[:12]}")
                if step["ctx_reads"]:
                    add(node, "reads " + escape(", ".join(f"{k}={v!r}" for k, v in step["ctx_reads"].items())))
                if step["ctx_writes"]:
                    add(node, "writes " + escape(", ".join(step["ctx_writes"])))
                if step["metrics"]:
                    add(node, "metrics " + escape(", ".join(f"{k}={v}" for k, v in step["metrics"].items())))
                if step.get("artifacts"):
                    add(node, "artifacts " + escape(", ".join(step["artifacts"])))
                if step.get("cache_miss_reason") and not step["cache_hit"]:
                    add(node, f"[dim]cache miss: {escape(step['cache_miss_reason'])}[/]")
            if entry["error"]:
                error = entry["error"]
                add(rep, f"[red]{escape(error['step'])}: {escape(error['exception_type'])}: {escape(error['message'])}[/]")
        if len(shown) < len(entries):
            add(branch, f"[dim]... {len(entries) - len(shown)} more replicate(s)[/]")
    return root


__all__ = ["provenance_tree"]
