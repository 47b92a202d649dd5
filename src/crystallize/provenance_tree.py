"""Rendering a Result's provenance as a tree (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.tree import Tree

    from crystallize.result import Result


def _step_label(step: dict[str, Any]) -> str:
    cache = " [green](cache hit)[/]" if step["cache_hit"] else ""
    params = ", ".join(f"{k}={v!r}" for k, v in step["params"].items())
    return f"[bold]{step['name']}[/]({params}) {step['duration'] * 1e3:.2f} ms{cache}"


def provenance_tree(result: Result, max_replicates: int | None = None) -> Tree:
    """A rich Tree: conditions → replicates (seed, time) → steps with hashes and reads."""
    from rich.markup import escape
    from rich.tree import Tree

    root = Tree(f"[bold]{escape(result.experiment)}[/]" + (f" run {result.run_id}" if result.run_id else ""))
    for condition, entries in result.provenance.items():
        branch = root.add(f"[cyan]{escape(condition)}[/] ({len(entries)} replicate(s))")
        shown = entries if max_replicates is None else entries[:max_replicates]
        for entry in shown:
            status = "[red]failed[/]" if entry["error"] else "ok"
            rep = branch.add(
                f"replicate {entry['replicate']}: seed {entry['seed_used']}, "
                f"{entry['duration'] * 1e3:.2f} ms, {status}"
            )
            for step in entry["steps"]:
                node = rep.add(_step_label(step))
                node.add(f"in {(step['input_hash'] or '?')[:12]} → out {(step['output_hash'] or '?')[:12]}")
                if step["ctx_reads"]:
                    node.add("reads " + escape(", ".join(f"{k}={v!r}" for k, v in step["ctx_reads"].items())))
                if step["ctx_writes"]:
                    node.add("writes " + escape(", ".join(step["ctx_writes"])))
                if step["metrics"]:
                    node.add("metrics " + escape(", ".join(f"{k}={v}" for k, v in step["metrics"].items())))
                if step.get("artifacts"):
                    node.add("artifacts " + escape(", ".join(step["artifacts"])))
                if step.get("cache_miss_reason") and not step["cache_hit"]:
                    node.add(f"[dim]cache miss: {escape(step['cache_miss_reason'])}[/]")
            if entry["error"]:
                error = entry["error"]
                rep.add(f"[red]{escape(error['step'])}: {escape(error['exception_type'])}: {escape(error['message'])}[/]")
        if len(shown) < len(entries):
            branch.add(f"[dim]... {len(entries) - len(shown)} more replicate(s)[/]")
    return root


__all__ = ["provenance_tree"]
