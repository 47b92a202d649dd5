"""Crystallize's own warning captures (``collect_warnings``, ``capture_warnings``) run in
several threads at once without breaking Python's process-wide warning state: overlapping
blocks must never leave ``warnings.filters`` or ``warnings.showwarning`` pointing at a
discarded list or hook, which would lose every later warning of the process."""

import sys
import threading
import time
import warnings

from crystallize.stats._common import collect_warnings


def _in_threads(work, count=2):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


def test_verifier_warnings_in_two_threads_stay_with_their_thread_and_leave_warnings_working():
    filters, show = list(warnings.filters), warnings.showwarning
    notes_seen: dict[int, list[list[str]]] = {0: [], 1: []}

    def work(i):
        for _ in range(30):
            with collect_warnings() as notes:
                time.sleep(0.001)  # the other thread runs meanwhile
                warnings.warn(f"thread {i}", RuntimeWarning, stacklevel=1)
            notes_seen[i].append(notes)

    _in_threads(work)
    assert warnings.filters == filters and warnings.showwarning is show
    for i, seen in notes_seen.items():
        assert seen == [[f"RuntimeWarning: thread {i}"]] * 30
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        warnings.warn("still shown", UserWarning, stacklevel=1)
    assert [str(w.message) for w in later] == ["still shown"]


def test_power_analysis_beside_a_verifier_leaves_warnings_working():
    from crystallize.stats.power import replicates_needed

    replicates_needed(0.8)  # importing statsmodels and scipy installs their own filters
    filters, show = list(warnings.filters), warnings.showwarning
    answers: list[int] = []
    done = threading.Event()

    def work(i):
        if i == 0:
            answers.extend(replicates_needed(0.2) for _ in range(40))
            done.set()
            return
        while not done.is_set():  # short blocks opening and closing inside power's
            with collect_warnings():
                time.sleep(0.0002)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads inside power's 2 ms block too
    try:
        _in_threads(work)
    finally:
        sys.setswitchinterval(interval)
    assert warnings.filters == filters and warnings.showwarning is show
    assert len(set(answers)) == 1 and answers[0] > 2
