"""The resampling verifiers hand scipy a ``batch`` so their memory stays bounded.

Without it scipy builds all ``n_resamples`` resamples at once (``n_resamples x n``
values): gigabytes at a few thousand values per condition.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from crystallize import stats
from crystallize.stats import resampling

SMALL_BUDGET = 50_000  # values per batch in these tests (the default is millions)


def _samples(n: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    rng = np.random.default_rng(1)
    return {"m": list(rng.normal(0, 1, n))}, {"m": list(rng.normal(0.1, 1, n))}


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["bootstrap_ci", "mann_whitney", "wilcoxon", "permutation_test"])
def test_peak_memory_follows_the_batch_budget_not_the_sample_size(monkeypatch, name):
    monkeypatch.setattr(resampling, "RESAMPLE_BATCH_VALUES", SMALL_BUDGET, raising=False)
    baseline, treatment = _samples(2000)
    verifier = getattr(stats, name)(n_resamples=2000)
    verifier(baseline, treatment)  # warm-up: imports and caches are not the point

    peak = _peak_bytes(lambda: verifier(baseline, treatment))

    # Unbatched, one resample array alone is 2000 x 4000 float64 values (64 MB).
    assert peak < 4 * 2**20, f"{name} peaked at {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("n", [1, 2, 30, 419, 10_000, 10**7])
def test_a_batch_never_holds_more_values_than_the_budget(n):
    batch = resampling.resample_batch(n, 9999)
    assert 1 <= batch <= 9999
    assert batch * n <= resampling.RESAMPLE_BATCH_VALUES or batch == 1


def test_small_samples_give_exactly_scipys_unbatched_results():
    from scipy.stats import bootstrap, permutation_test

    rng = np.random.default_rng(3)
    b, t = rng.normal(0, 1, 30), rng.normal(0.5, 1, 30)

    def diff(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    ours = resampling.bootstrap_difference_ci(b, t, confidence_level=0.95, method="BCa", seed=7)
    theirs = bootstrap((t, b), diff, vectorized=True, method="BCa", rng=np.random.default_rng(7))
    assert ours == (theirs.confidence_interval.low, theirs.confidence_interval.high)

    p, _, _ = resampling.permutation_p_value(b, t, alternative="two-sided", seed=7)
    assert p == permutation_test((t, b), diff, vectorized=True, rng=np.random.default_rng(7)).pvalue


def test_batched_results_are_seeded_and_batch_invariant_where_scipy_is(monkeypatch):
    baseline, treatment = _samples(500)
    big = {name: getattr(stats, name)(n_resamples=500)(baseline, treatment)
           for name in ("wilcoxon", "permutation_test", "mann_whitney")}
    monkeypatch.setattr(resampling, "RESAMPLE_BATCH_VALUES", 5_000, raising=False)
    small = {name: getattr(stats, name)(n_resamples=500)(baseline, treatment) for name in big}
    again = stats.mann_whitney(n_resamples=500)(baseline, treatment)

    # scipy's one-sample bootstrap and its permutation test draw the same numbers
    # whatever the batch; its two-sample bootstrap interleaves the samples' draws per
    # batch, so that interval changes with the batch but stays seeded.
    assert small["wilcoxon"]["ci"] == big["wilcoxon"]["ci"]
    assert small["permutation_test"]["p_value"] == big["permutation_test"]["p_value"]
    assert again["ci"] == small["mann_whitney"]["ci"]
