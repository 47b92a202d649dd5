"""Built-in verifiers check their arguments when they are built, not once per comparison."""

from __future__ import annotations

import pickle

import pytest

import crystallize.stats as cstats
from crystallize.exceptions import VerificationError
from crystallize.hypothesis import Verifier
from crystallize.stats import VerifierArgumentError

ALL = [
    "welch_t_test",
    "paired_t_test",
    "mann_whitney",
    "wilcoxon",
    "permutation_test",
    "bootstrap_ci",
    "fisher_exact",
    "chi2",
]
RESAMPLING = ["mann_whitney", "wilcoxon", "permutation_test", "bootstrap_ci"]
ALTERNATIVES_ALLOWED = "'two-sided', 'greater' (treatment larger than baseline) or 'less'"

# (verifier, argument, bad value, text naming what is allowed)
BAD = [
    *[(name, "alternative", "lesser", ALTERNATIVES_ALLOWED) for name in ALL if name != "chi2"],
    *[(name, "alpha", value, "strictly between 0 and 1") for name in ALL for value in (0, 1, 1.5, "0.05", True)],
    *[(name, "n_resamples", value, "positive integer") for name in RESAMPLING for value in (0, -5, 2.5, "99", True)],
    *[(name, "seed", value, "non-negative integer (or None") for name in RESAMPLING for value in (-1, 1.5, "7")],
    ("mann_whitney", "method", "exakt", "Use 'auto', 'exact' or 'asymptotic'."),
    ("wilcoxon", "zero_method", "drop", "Use 'wilcox', 'pratt' or 'zsplit'."),
    ("bootstrap_ci", "method", "studentized", "Use 'BCa', 'percentile' or 'basic'."),
    ("chi2", "alternative", "greater", "only alternative='two-sided' is possible"),
    ("chi2", "alternative", "sideways", ALTERNATIVES_ALLOWED),
    ("chi2", "correction", "no", "must be True or False"),
    ("chi2", "correction", 2, "must be True or False"),
]


@pytest.mark.parametrize(("name", "argument", "value", "allowed"), BAD, ids=lambda v: repr(v))
def test_bad_value_is_refused_when_the_verifier_is_built(name, argument, value, allowed) -> None:
    factory = getattr(cstats, name)
    with pytest.raises(VerifierArgumentError) as info:
        factory(**{argument: value})  # no data: the error comes from building it
    error = info.value
    message = str(error)
    assert message.startswith(f"{name}: ")
    assert argument in message and repr(value) in message and allowed in message
    assert (error.verifier, error.argument, error.value) == (name, argument, value)
    assert isinstance(error, ValueError) and isinstance(error, VerificationError)


@pytest.mark.parametrize(
    ("name", "argument", "value", "suggestion"),
    [
        ("mann_whitney", "alternative", "lesser", "less"),
        ("welch_t_test", "alternative", "two_sided", "two-sided"),
        ("fisher_exact", "alternative", "greatr", "greater"),
        ("mann_whitney", "method", "exakt", "exact"),
        ("wilcoxon", "zero_method", "prat", "pratt"),
        ("bootstrap_ci", "method", "bca_", "BCa"),
    ],
)
def test_misspelt_choices_get_a_suggestion(name, argument, value, suggestion) -> None:
    with pytest.raises(VerifierArgumentError, match=f"unknown {argument} '{value}'; did you mean '{suggestion}'\\?"):
        getattr(cstats, name)(**{argument: value})


def test_the_auditors_case_reads_well() -> None:
    with pytest.raises(VerifierArgumentError) as info:
        cstats.mann_whitney(alternative="lesser")
    assert str(info.value) == (
        "mann_whitney: unknown alternative 'lesser'; did you mean 'less'? Use 'two-sided', "
        "'greater' (treatment larger than baseline) or 'less' (treatment smaller than baseline)."
    )


@pytest.mark.parametrize("name", ALL)
def test_unknown_parameter_names_are_refused_when_built(name) -> None:
    with pytest.raises(TypeError, match=rf"{name}\(\) got an unexpected keyword argument 'alpah'; did you mean 'alpha'\?"):
        getattr(cstats, name)(alpah=0.1)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("welch_t_test", {"alpha": 0.01, "alternative": "less", "metric": "x"}),
        ("paired_t_test", {"alternative": "greater"}),
        ("mann_whitney", {"method": "exact", "n_resamples": 99, "seed": None}),
        ("wilcoxon", {"zero_method": "zsplit", "seed": 3}),
        ("permutation_test", {"n_resamples": 1, "seed": 0}),
        ("bootstrap_ci", {"method": "bca", "n_resamples": 50}),
        ("fisher_exact", {"alternative": "less"}),
        ("chi2", {"correction": False, "alternative": "two-sided"}),
    ],
)
def test_good_values_build_a_verifier_that_pickles(name, params) -> None:
    built = getattr(cstats, name)(**params)
    assert isinstance(built, Verifier) and built.params == params
    again = pickle.loads(pickle.dumps(built))
    assert again.fn is built.fn and again.params == params


def test_chi2_correction_flag_is_used() -> None:
    base, treat = {"win": [0, 0, 1, 0, 0, 1, 0, 0]}, {"win": [1, 1, 0, 1, 1, 1, 1, 0]}
    assert cstats.chi2(correction=False)(base, treat)["yates_correction"] is False
    assert cstats.chi2(correction=1)(base, treat)["yates_correction"] is True
