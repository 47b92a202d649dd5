"""``adjust_p_values(..., "holm")`` must not make statsmodels walk the whole heap.

statsmodels' ``multipletests`` calls ``gc.collect()`` in its Holm branch: with a large
``Result`` alive (a million tracked objects) each Holm-corrected hypothesis took more
than half a second.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from crystallize.stats import adjust_p_values

P_VALUES = [0.01, 0.04, 0.03] * 10
BIG_HEAP = 1_000_000
#: Objects frozen before any test: Python 3.12 freezes a few hundred at start-up, and
#: then the heap is left as it is (see ``_frozen_heap``).
FROZEN_AT_START = gc.get_freeze_count()
needs_no_frozen_objects = pytest.mark.skipif(
    FROZEN_AT_START > 0, reason="this Python keeps objects frozen from start-up: nothing is frozen for Holm"
)


@pytest.fixture
def big_heap():
    heap = [[] for _ in range(BIG_HEAP)]  # a million tracked objects, as a big Result holds
    yield heap
    del heap


@pytest.fixture
def full_collections():
    """How many objects each full (generation 2) collection could examine."""
    seen: list[int] = []

    def callback(phase, info):
        if phase == "start" and info["generation"] == 2:
            seen.append(len(gc.get_objects()))  # frozen objects are not listed: not examined

    gc.callbacks.append(callback)
    yield seen
    gc.callbacks.remove(callback)


@needs_no_frozen_objects
def test_holm_collects_without_walking_a_big_heap(big_heap, full_collections):
    adjusted = adjust_p_values(P_VALUES, "holm")

    assert adjusted[:3] == pytest.approx([0.3, 0.6, 0.6])  # statsmodels' Holm, as ever
    assert full_collections, "statsmodels' Holm branch no longer collects: drop the freeze"
    assert max(full_collections) < BIG_HEAP // 10


class _Node:
    """An object in a reference cycle: garbage only a collection can free."""

    def __init__(self) -> None:
        self.me = self


def test_the_heap_is_unfrozen_afterwards_and_garbage_still_collected(big_heap):
    cycle = _Node()
    freed = weakref.ref(cycle)
    del cycle
    adjust_p_values(P_VALUES, "holm")
    gc.collect()

    assert gc.get_freeze_count() == FROZEN_AT_START
    assert gc.is_tracked(big_heap[0])
    assert freed() is None  # the cycle was collected (now or after unfreezing), not leaked


def test_the_heap_is_unfrozen_when_statsmodels_raises(monkeypatch):
    import statsmodels.stats.multitest as multitest

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(multitest, "multipletests", broken)
    with pytest.raises(RuntimeError, match="boom"):
        adjust_p_values(P_VALUES, "holm")
    assert gc.get_freeze_count() == FROZEN_AT_START


@needs_no_frozen_objects  # its clean-up would thaw the interpreter's own frozen objects
def test_objects_the_application_froze_stay_frozen():
    kept = [[] for _ in range(1000)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert adjust_p_values([0.01, 0.04], "holm") == pytest.approx([0.02, 0.04])
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
    del kept
