"""Content digests used for step provenance and cache keys; the default seeding."""

from __future__ import annotations

import random
import threading

import numpy as np

from crystallize.plugins.seed import default_seed_fn
from crystallize.utils.hashing import content_hash, digest


def test_scalars_of_different_types_hash_apart():
    values = [1, 1.0, True, "1", b"1", None, "None", 0, 0.0, -0.0, False, ""]
    digests = [digest(v) for v in values]
    assert len(set(digests)) == len(values)
    assert all(len(d) == 32 for d in digests)


def test_equal_values_hash_equal_and_unhashable_ones_give_none():
    assert digest(10**5000) == digest(10**5000)  # longer than repr() allows: pickled
    assert digest("\ud800") == digest("\ud800")  # a lone surrogate still hashes
    assert digest(np.arange(3)) == digest(np.arange(3))
    assert digest([1, 2]) != digest((1, 2))
    assert content_hash(threading.Lock()) is None


def _draws() -> tuple[float, float, float, float]:
    return (random.random(), random.gauss(0, 1), random.gauss(0, 1), float(np.random.random()))


def test_default_seeding_matches_random_seed_exactly():
    for seed in (0, 99, 2**32 - 1):
        random.seed(seed)
        np.random.seed(seed)
        want = _draws()
        random.gauss(0, 1)  # leaves a cached Gaussian that seeding must clear
        np.random.random()
        default_seed_fn(seed)
        assert _draws() == want


def test_seeds_that_are_not_ints_go_through_random_seed():
    from crystallize.plugins import seed as seed_module

    seed_module.default_seed_fn(1)  # make sure the fast seeder is loaded
    random.seed("text seed")
    want = random.random()
    random.random()
    seed_module._random_seed("text seed")
    assert random.random() == want
