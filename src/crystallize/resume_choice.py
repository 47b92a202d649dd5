"""Which stored run ``strategy="resume"`` may continue, and where it writes.

:class:`~crystallize.session.RunSession` asks these when a run starts with
``strategy="resume"``: why a stored run with another spec is not resumed
(:func:`what_changed`), whether a later run of the same name took over its unversioned
artifact directory (:func:`later_run_in_same_version`, :func:`files_to_mix`), whether
the files it wrote are still its own (:func:`artifacts_changed`), and the version a
resumed run writes to (:func:`resumed_version`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crystallize.fingerprint import CODE_DIGEST_SCHEME, digest_scheme_of, spec_differences

if TYPE_CHECKING:
    from crystallize.record import ReplicateRecord
    from crystallize.store import RunInfo

#: How much later than a run's last sign of life one of its files may have been written
#: (file system timestamps and the clock may differ that much) before a resume counts
#: it as rewritten by another run.
MTIME_SLACK = 1.0


def files_to_mix(records: Iterable[ReplicateRecord], root: Any, experiment: str, previous: RunInfo) -> bool:
    """Whether resuming ``previous`` (whose stored ``records`` these are) in the version
    directory a later run took over would mix files: the directory holds some now, or a
    step of ``previous`` wrote some (files written outside the steps, by a datasource or
    a hook, are not recorded: an experiment writing only those is resumed with them gone)."""
    from crystallize.store.artifacts import version_dir

    directory = version_dir(root, experiment, previous.artifact_version or 0)
    if any(files for _, _, files in os.walk(directory)):
        return True
    return any(step.artifacts for record in records for step in record.steps)


def artifacts_changed(
    records: Iterable[ReplicateRecord], root: Any, experiment: str, previous: RunInfo
) -> str | None:
    """Why the files the finished replicates of ``previous`` (whose stored ``records``
    these are) wrote are not theirs any
    more — one is gone, or was written after the run's last sign of life (by a later run
    of the same name in the same unversioned ``v0``, since deleted, say) — or ``None``
    when they are all as the run left them."""
    from crystallize.store.artifacts import artifact_path

    # A record is stored after its files are written, and storing it is a sign of life.
    last_alive = max(previous.heartbeat_at or 0.0, previous.ended_at or 0.0) + MTIME_SLACK
    version = previous.artifact_version or 0
    for record in records:
        if record.error is not None:  # recomputed by the resume anyway
            continue
        for step in record.steps:
            for name in step.artifacts or ():
                path = artifact_path(root, experiment, version, record.condition, record.replicate, name)
                try:
                    written = path.stat().st_mtime
                except OSError:
                    return f"{path}, which it wrote, is gone"
                if written > last_alive:
                    return f"{path}, which it wrote, was written again after it stopped (by another run)"
    return None


def what_changed(stored: dict[str, Any], spec: dict[str, Any]) -> str:
    """Why a run stored with spec ``stored`` is not resumed by an experiment with spec
    ``spec``: the parts that differ. Code digests stored under another digest scheme
    (:data:`~crystallize.fingerprint.CODE_DIGEST_SCHEME`) differ even for unchanged code,
    so they are put down to the upgrade, not the user's code. A spec stored before specs
    recorded their scheme may hold digests of this scheme or of an earlier one: its code
    digests that differ may be a real edit, and are worded as either."""
    changed = spec_differences(stored, spec)
    scheme = digest_scheme_of(stored)
    digests = [] if scheme == CODE_DIGEST_SCHEME else [part for part in changed if part.endswith(".code")]
    edits = ", ".join(part for part in changed if part not in digests)
    if not digests:
        return f"the experiment changed since ({edits or 'fingerprint'})"
    if scheme is None:  # unmarked: never claim that the code is unchanged
        upgrade = (
            "its code changed, or its code digests were computed by an earlier Crystallize version "
            f"({', '.join(digests)})"
        )
    else:
        version = "a newer" if scheme > CODE_DIGEST_SCHEME else "an earlier"
        upgrade = (
            f"its code digests were computed by {version} Crystallize version, so they differ even for "
            f"unchanged code ({', '.join(digests)})"
        )
    return f"the experiment changed since ({edits}), and {upgrade}" if edits else upgrade


def later_run_in_same_version(runs: list[RunInfo], previous: RunInfo) -> RunInfo | None:
    """The newest of ``runs`` (newest first) started after ``previous`` that wrote to the
    same artifact directory (``None`` counts as ``v0``, as in stores from before the
    version was recorded), or ``None``."""
    mine = previous.artifact_version or 0
    for run in runs:
        if run.run_id == previous.run_id:
            return None
        if (run.artifact_version or 0) == mine:
            return run
    return None


def resumed_version(previous: RunInfo, root: Any, experiment: str, versioned: bool) -> int:
    """The ``v<N>`` a resumed run writes its artifacts to: the one it was started in.

    Runs stored before the store recorded it fall back to the newest existing version
    (a new one if there is none).
    """
    from crystallize.store import claim_version, latest_version

    if previous.artifact_version is not None:
        return previous.artifact_version
    version = latest_version(root, experiment)
    return claim_version(root, experiment, versioned) if version is None else version


__all__ = ["artifacts_changed", "files_to_mix", "later_run_in_same_version", "resumed_version", "what_changed"]
