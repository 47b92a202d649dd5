"""Built-in statistics: verifiers, effect sizes, multiple-comparison corrections, power.

Verifier factories (each is a :func:`crystallize.hypothesis.verifier`; call it with its
parameters and hand the result to a :class:`~crystallize.hypothesis.Hypothesis`):

==========================  ==================================  ====================
factory                     question                            effect size
==========================  ==================================  ====================
:func:`welch_t_test`        different means (independent)?      Hedges' g
:func:`paired_t_test`       mean paired difference non-zero?    Cohen's d_z
:func:`mann_whitney`        treatment values tend larger?       rank-biserial
:func:`wilcoxon`            paired differences tend positive?   rank-biserial
:func:`permutation_test`    different means (permutations)?     Hedges' g
:func:`bootstrap_ci`        CI of the mean difference           Hedges' g
:func:`fisher_exact`        different success rates (exact)?    odds ratio
:func:`chi2`                different success rates (large n)?  odds ratio
==========================  ==================================  ====================

Every factory takes ``alpha=0.05``, ``alternative="two-sided"`` (or ``"greater"`` /
``"less"``: treatment larger / smaller than baseline) and ``metric=None``. For one
metric the verifier returns a flat dict with at least these keys; for several metrics
(and ``metric=None``) it returns ``{metric: flat dict}``:

``test``, ``metric``, ``alpha``, ``alternative``, ``p_value``, ``significant``
(``p_value < alpha``), ``effect_size``, ``effect_size_name``, ``ci`` (two-sided
``(low, high)`` at confidence ``1 - alpha`` for the treatment-minus-baseline
difference), ``ci_of`` (what ``ci`` is an interval of), ``ci_level``, ``n_baseline``,
``n_treatment``, ``mean_baseline``, ``mean_treatment``, ``difference`` and, when scipy
warned (e.g. constant data), ``warnings``. All values are plain Python types.

Each factory checks its arguments when it is called, before any data is seen: an
unknown parameter name raises ``TypeError`` and a value outside the accepted set or range
(``alternative="lesser"``, ``alpha=1.5``, ``n_resamples=0``, an unknown ``method``...)
raises :class:`VerifierArgumentError` (a :class:`~crystallize.exceptions.VerificationError`
and a :class:`ValueError`) naming the verifier, the argument, the value and what is
allowed.

Helpers:

* :func:`adjust_p_values` - Holm, Bonferroni or Benjamini–Hochberg adjustment (used by
  ``Hypothesis(correction=...)``).
* :func:`replicates_needed` - replicates per condition for a two-sample t-test.
* :mod:`crystallize.stats.effect_sizes` - the effect size definitions.

numpy, scipy and statsmodels are imported only when a test runs, so importing this
package is cheap.
"""

from __future__ import annotations

from crystallize.exceptions import VerifierArgumentError
from crystallize.stats.binary import chi2, fisher_exact
from crystallize.stats.corrections import adjust_p_values
from crystallize.stats.nonparametric import mann_whitney, permutation_test, wilcoxon
from crystallize.stats.parametric import paired_t_test, welch_t_test
from crystallize.stats.power import replicates_needed
from crystallize.stats.resampling import bootstrap_ci

__all__ = [
    "VerifierArgumentError",
    "adjust_p_values",
    "bootstrap_ci",
    "chi2",
    "fisher_exact",
    "mann_whitney",
    "paired_t_test",
    "permutation_test",
    "replicates_needed",
    "welch_t_test",
    "wilcoxon",
]
