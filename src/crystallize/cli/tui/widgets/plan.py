"""The plan of a run: each experiment with its datasource, steps (cached or not) and
treatments (enabled or not). The run screen's ``l``, ``x`` and ``e`` keys act on the
highlighted line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.widgets import Tree

from crystallize.cli.text import literal, printable
from crystallize.cli.tui.model import all_cached, steps_of, strategy_for

if TYPE_CHECKING:
    from crystallize.experiment import Experiment

CACHED, NOT_CACHED = "●", "○"
ENABLED, DISABLED = "✓", "✗"


@dataclass(frozen=True)
class PlanItem:
    """What a line of the plan stands for.

    Attributes:
        kind: ``experiment``, ``datasource``, ``steps``, ``step``, ``treatments`` or ``treatment``.
        experiment: the experiment's name.
        name: the step or treatment name (empty for the other kinds).
    """

    kind: str
    experiment: str
    name: str = ""

    @property
    def what(self) -> str:
        """``step 'total' of 'numbers'`` for a step or treatment, else ``experiment 'numbers'``."""
        if self.kind in ("step", "treatment"):
            return f"{self.kind} '{self.name}' of '{self.experiment}'"
        return f"experiment '{self.experiment}'"


def _values(treatment: Any) -> str:
    values = treatment.values
    if isinstance(values, dict):
        return ", ".join(f"{k}={v!r}" for k, v in values.items())
    return "values set in code" if values is not None else ""


class PlanTree(Tree[PlanItem]):
    """A tree of the experiments to run; rebuilt with :meth:`show` after every change."""

    def show(self, experiments: Sequence[Experiment]) -> None:
        """List ``experiments`` (keeping the cursor on the same line when possible)."""
        from rich.text import Text

        line = self.cursor_line
        self.clear()
        self.root.data = None
        for experiment in experiments:
            name = experiment.name
            steps = steps_of(experiment)
            cached = sum(1 for s in steps if getattr(s, "cacheable", False))
            cache = "all" if all_cached(experiment) else (f"{cached}/{len(steps)}" if cached else "off")
            label = literal(name, style="bold")
            label.append(f"  cache {cache} · {strategy_for(experiment)}", style="dim")
            node = self.root.add(label, data=PlanItem("experiment", name), expand=True)
            source = getattr(experiment.datasource, "name", type(experiment.datasource).__name__)
            node.add_leaf(literal(f"datasource: {source}", style="italic"), data=PlanItem("datasource", name))
            steps_node = node.add("steps  (l: cache)", data=PlanItem("steps", name), expand=True)
            for step in steps:
                on = bool(getattr(step, "cacheable", False))
                text = Text(f"{CACHED if on else NOT_CACHED} ", style="green" if on else "dim")
                text.append(printable(step.name))
                if on:
                    text.append(" cached", style="dim")
                steps_node.add_leaf(text, data=PlanItem("step", name, step.name))
            declared = list(getattr(experiment, "declared_treatments", ()) or experiment.treatments)
            enabled = {t.name for t in experiment.treatments}
            treatments_node = node.add("treatments  (x: on/off)", data=PlanItem("treatments", name), expand=True)
            treatments_node.add_leaf(Text("✓ baseline", style="dim"), data=PlanItem("baseline", name))
            for treatment in declared:
                on = treatment.name in enabled
                text = Text(f"{ENABLED if on else DISABLED} ", style="green" if on else "red")
                text.append(printable(treatment.name), style="" if on else "strike dim")
                values = _values(treatment)
                if values:
                    text.append(printable(f"  {values}"), style="dim")
                treatments_node.add_leaf(text, data=PlanItem("treatment", name, treatment.name))
        self.call_after_refresh(self._restore, line)

    def show_unloadable(self, text: str) -> None:
        """Replace the plan with one line saying it cannot be loaded (the keys need a plan)."""
        self.clear()
        self.root.data = None
        self.root.add_leaf(literal(f"✗ {text}", style="bold red"))

    def holds(self, item: PlanItem) -> bool:
        """True when a line of the plan stands for ``item``."""
        nodes = [self.root]
        while nodes:
            node = nodes.pop()
            if node.data == item:
                return True
            nodes.extend(node.children)
        return False

    def _restore(self, line: int) -> None:
        self.cursor_line = max(0, min(line, self.last_line))

    @property
    def item(self) -> PlanItem | None:
        """The item under the cursor."""
        node = self.cursor_node
        return node.data if node is not None else None


__all__ = ["CACHED", "DISABLED", "ENABLED", "NOT_CACHED", "PlanItem", "PlanTree"]
