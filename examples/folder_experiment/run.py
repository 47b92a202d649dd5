"""Load this folder experiment from its config.yaml, run it and print the report.

Run from anywhere: ``python examples/folder_experiment/run.py`` (artifacts and the run
store go to ``./data``).
"""

from __future__ import annotations

from pathlib import Path

from crystallize import Experiment


def main() -> None:
    """Run the smoothing experiment and print its report."""
    experiment = Experiment.from_yaml(Path(__file__).parent)
    result = experiment.run()
    print(result.report())


if __name__ == "__main__":
    main()
