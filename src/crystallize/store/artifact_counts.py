"""How many files of each artifact a stored run wrote, counted by SQLite.

Each record's step provenance lists the artifact names its steps wrote. Decoding every
record in Python to count them takes seconds for a run of 100,000 records; SQLite's JSON
functions count them in a fraction of that without building a single record.
"""

from __future__ import annotations

import os

from crystallize.record import StepRecord
from crystallize.store.opening import open_existing_store

# A payload is an object (``{"metrics": ..., "steps": [...], ...}``) or, in an earlier
# form, a positional list whose third item is the steps. A step is a positional list in
# StepRecord field order (``artifacts`` last, left out when empty) or, earlier, an object.
_ARTIFACTS_SQL = f"""
    SELECT artifact.value, count(*)
    FROM records,
        json_each(records.payload,
                  CASE json_type(records.payload) WHEN 'array' THEN '$[2]' ELSE '$.steps' END) AS step,
        json_each(CASE step.type
                  WHEN 'array' THEN json_extract(step.value, '$[{StepRecord.field_names.index("artifacts")}]')
                  ELSE json_extract(step.value, '$.artifacts') END) AS artifact
    WHERE records.run_id = ?
    GROUP BY artifact.value
"""


def stored_artifact_counts(root_dir: str | os.PathLike[str], run_id: str) -> dict[str, int]:
    """``{artifact name: files written}`` over every record of the stored run ``run_id``.

    Args:
        root_dir: The data directory holding the run store.
        run_id: The run (an unknown id counts nothing).

    Raises:
        StoreError: No run store in ``root_dir``, or it cannot be read.
    """
    with open_existing_store(root_dir) as store, store.transaction() as conn:
        return dict(conn.execute(_ARTIFACTS_SQL, (run_id,)).fetchall())


__all__ = ["stored_artifact_counts"]
