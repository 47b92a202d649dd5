"""The upstream outputs a run reads, each pinned to one producer run for the whole run.

A datasource reading another experiment's output (``UpstreamOutput``) reads the
producer's newest usable run. A run pins that choice before any replicate starts, so
every replicate reads the same producer run, stores the pins in its summary (a resume
after a crash reads the same producer runs), and refuses to resume a run that read other
producer data than a new run would. ``apply()`` and ``debug()`` pin for their block only
(:func:`upstreams_pinned`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crystallize.plugins.artifacts import ArtifactPlugin
from crystallize.treatment import BASELINE

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.store import RunInfo, RunStore

logger = logging.getLogger("crystallize")


class UpstreamPins:
    """The upstream outputs of one run and the producer run each is pinned to.

    ``entries`` lists one dict per pinned output (``experiment``, ``output``,
    ``run_id``, ``version``, …), sorted; ``counts`` maps ``"experiment#output"`` to the
    number of replicates of the producer run it reads.
    """

    def __init__(self, experiment: Experiment) -> None:
        self.sources = upstream_sources(experiment)
        self.entries: list[dict[str, Any]] = []
        self.counts: dict[str, int | None] = {}

    def pin(
        self,
        store: RunStore | None,
        is_live: Callable[[RunInfo], bool],
        root: Any,
        warn: Callable[[str], None],
    ) -> None:
        """Fix the producer run each output reads, before any replicate starts (see
        ``UpstreamOutput.pin``); a note a pin gives goes to ``warn``."""
        runs: dict[str, list[RunInfo]] = {}
        failed: dict[str, set[int]] = {}

        def failed_in(run_id: str) -> set[int]:  # the producer run's failed baseline replicates
            if run_id not in failed:
                failed[run_id] = store.failed_replicates(run_id, BASELINE) if store is not None else set()
            return failed[run_id]

        for source in self.sources:
            if source.experiment not in runs:  # one look-up: every output reads the same run
                runs[source.experiment] = store.list_runs(source.experiment) if store is not None else []
            note = source.pin(runs[source.experiment], is_live, root, failed_in)
            if note is not None:
                warn(note)
        entries = (source.pinned_run() for source in self.sources)
        pinned = {(entry["experiment"], entry["output"]): entry for entry in entries}
        self.entries = [pinned[key] for key in sorted(pinned)]
        self.counts = {source.name: source.pinned_replicates for source in self.sources}

    def unpin(self) -> None:
        """Let the upstream outputs look for the latest producer run again (the run is over)."""
        for source in self.sources:
            source.unpin()

    def summary(self) -> dict[str, Any]:
        """What the run's summary keeps of the pins: ``upstream`` (:attr:`entries`) and
        ``upstream_replicates`` (:attr:`counts`, what a resume reads as ``n``)."""
        if not self.entries:
            return {}
        return {"upstream": self.entries, "upstream_replicates": self.counts}

    def changed_since(self, previous: RunInfo) -> str | None:
        """Why resuming ``previous`` would read other producer data than it read (it did
        not record it, a producer has a newer run now, or the producer run has another
        replicate count now), or ``None``."""
        if not self.entries:
            return None
        stored = (previous.summary or {}).get("upstream")
        if not isinstance(stored, list):
            names = "', '".join(sorted({entry["experiment"] for entry in self.entries}))
            return (
                f"it does not record which run of '{names}' it read (it was stored by an older "
                "Crystallize), so resuming it could mix two producer runs"
            )
        from crystallize.config.upstream import describe_read  # loaded: this run reads upstreams

        before = {(e.get("experiment"), e.get("output")): e for e in stored if isinstance(e, dict)}
        for entry in self.entries:
            old = before.get((entry["experiment"], entry["output"]), {})
            if (old.get("run_id"), old.get("version")) != (entry["run_id"], entry["version"]):
                read = f"{entry['experiment']}#{entry['output']}"
                return f"it read '{read}' from {describe_read(old)}, but '{read}' now comes from {describe_read(entry)}"
        # A producer run resumed with more replicates since: replicate r reads producer
        # replicate r % n, so the earlier replicates read other ones than a new run would.
        counts = (previous.summary or {}).get("upstream_replicates")
        for read, count in self.counts.items():
            then = counts.get(read) if isinstance(counts, dict) else None
            if then != count:
                return (
                    f"it read '{read}' from {then} replicate(s) of its producer run, which has "
                    f"{count} now, so its replicates read other producer replicates than a new run would"
                )
        return None


@contextlib.contextmanager
def upstreams_pinned(experiment: Experiment) -> Iterator[None]:
    """Pin ``experiment``'s upstream outputs for the block as a run does (they read under
    its ArtifactPlugin root, from the upstream's newest usable run), then unpin them: for
    ``apply()`` and ``debug()``, which run a replicate without a run session."""
    sources = upstream_sources(experiment)
    if not sources:
        yield
        return
    plugin = experiment.get_plugin(ArtifactPlugin)
    root = plugin.root_dir if plugin is not None else None
    runs: dict[str, list[RunInfo]] = {}
    if root is not None:
        from crystallize.store import DB_FILENAME, list_runs

        if (Path(root) / DB_FILENAME).is_file():
            for source in sources:
                if source.experiment not in runs:
                    runs[source.experiment] = list_runs(root, source.experiment)
    try:
        for source in sources:
            note = source.pin(runs.get(source.experiment, ()), None, root)
            if note is not None:
                logger.warning("%s", note)
        yield
    finally:
        for source in sources:
            source.unpin()


def upstream_sources(experiment: Experiment) -> list[Any]:
    """The upstream outputs (``UpstreamOutput``) the experiment's datasources read."""
    upstream = sys.modules.get("crystallize.config.upstream")
    if upstream is None:  # never imported: there is none
        return []
    return upstream.experiment_upstreams(experiment)


__all__ = ["UpstreamPins", "upstream_sources", "upstreams_pinned"]
