"""From a hunch to a finding: exploratory runs and pre-registered confirmatory runs.

``explore(fn, configs, replicates)`` runs an exploration; its ``.crystallize(hypothesis,
replicates)`` writes the hypothesis to a pre-registration record in the store *before*
any confirmatory replicate runs, runs fresh replicates with seeds disjoint from the
exploration's, and reports whether the hypothesis is supported together with an
integrity verdict. ``registrations(root_dir)`` lists the pre-registration records
(every attempt, including cancelled or failed ones).
"""

from crystallize.confirm.explore import Confirmation, Exploration, explore
from crystallize.confirm.expression import Comparison, HypothesisSyntaxError, parse_hypothesis
from crystallize.confirm.registry import registrations

__all__ = [
    "Comparison",
    "Confirmation",
    "Exploration",
    "HypothesisSyntaxError",
    "explore",
    "parse_hypothesis",
    "registrations",
]
