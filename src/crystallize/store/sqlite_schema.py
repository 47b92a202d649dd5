"""The SQL schema of the SQLite run store (see :mod:`crystallize.store.sqlite`)."""

#: Version 2 added ``preregistrations``; version 1 stores are migrated on open.
PREREGISTRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS preregistrations (
        registration_id TEXT PRIMARY KEY,
        experiment      TEXT NOT NULL,
        hypothesis      TEXT NOT NULL,
        created_at      REAL NOT NULL,
        payload         TEXT NOT NULL
    )
    """

#: Version 3 added ``runs.artifact_version`` (the ``v<N>`` a run's artifacts are in);
#: older stores get the column (NULL for their runs) on open.
ARTIFACT_VERSION_COLUMN = "ALTER TABLE runs ADD COLUMN artifact_version INTEGER"

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS runs (
        run_id       TEXT PRIMARY KEY,
        experiment   TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        spec         TEXT NOT NULL,
        status       TEXT NOT NULL,
        replicates   INTEGER NOT NULL,
        conditions   TEXT NOT NULL,
        base_seed    TEXT,
        started_at   REAL NOT NULL,
        ended_at     REAL,
        heartbeat_at REAL NOT NULL,
        pid          INTEGER NOT NULL,
        hostname     TEXT NOT NULL,
        summary      TEXT,
        warnings     TEXT NOT NULL,
        parent_run   TEXT,
        artifact_version INTEGER
    )
    """,
    "CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)",
    """
    CREATE TABLE IF NOT EXISTS records (
        run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        condition TEXT NOT NULL,
        replicate INTEGER NOT NULL,
        seed      INTEGER,
        status    TEXT NOT NULL,
        duration  REAL,
        payload   TEXT NOT NULL,
        UNIQUE (run_id, condition, replicate)
    )
    """,
    PREREGISTRATIONS_TABLE,
)
OUR_TABLES = {"runs", "records", "preregistrations"}
