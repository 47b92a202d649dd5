"""Run the two-level graph: `train` writes a model, `evaluate` reads it.

``python examples/graph/run.py`` (artifacts and runs go to ``./data``). Running it again
with ``--resume`` computes nothing that already finished.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crystallize.config import ExperimentGraph


def main() -> None:
    """Run every experiment of the graph, upstream first, and print the reports."""
    graph = ExperimentGraph.from_yaml(Path(__file__).parent / "evaluate")
    strategy = "resume" if "--resume" in sys.argv else "rerun"
    for name, result in graph.run(strategy=strategy).items():
        print(f"== {name} ==")
        print(result.report())


if __name__ == "__main__":
    main()
