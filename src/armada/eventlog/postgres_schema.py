"""Schema versions of the PostgreSQL store, applied by ``armada migrate`` and checked at start.

Each part of the store (the log here, the views in :mod:`armada.views.postgres`) has a list of
migration steps; step ``n`` takes it from version ``n - 1`` to ``n``. ``armada migrate`` applies
the missing steps in one transaction under an advisory lock (so two operators cannot apply
them twice); every process checks at start that each part is at the version it was built for,
and otherwise refuses to start with a message that says what to run. Processes never migrate
by themselves: a rollout runs ``armada migrate`` once, then starts the new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from armada.config.server import shown_url
from armada.eventlog.base import EventLogError

# One migration step: the statements that take a part of the schema one version up.
Step = Sequence[str]

LOG_STEPS: Sequence[Step] = (
    (
        """CREATE TABLE event_log (
            "offset"  BIGINT PRIMARY KEY,
            queue     TEXT NOT NULL,
            job_set   TEXT NOT NULL,
            created   DOUBLE PRECISION NOT NULL,
            payload   BYTEA NOT NULL
        )""",
        'CREATE INDEX event_log_by_job_set ON event_log (queue, job_set, "offset")',
        """CREATE TABLE log_keys (
            key      TEXT PRIMARY KEY,
            present  BOOLEAN NOT NULL,
            version  BIGINT NOT NULL
        )""",
        # The newest offset, one row: appends lock it, which orders them (gap-free offsets).
        """CREATE TABLE log_head (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            head  BIGINT NOT NULL
        )""",
        "INSERT INTO log_head (id, head) VALUES (1, 0)",
    ),
)

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('armada-migrate'))"
_VERSIONS = """CREATE TABLE IF NOT EXISTS armada_schema (
    part     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
)"""


def schema_version(conn: psycopg.Connection[Any], part: str) -> int:
    """The version of ``part`` in the database (0: never migrated)."""
    exists = conn.execute("SELECT to_regclass('armada_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT version FROM armada_schema WHERE part = %s", (part,)).fetchone()
    return int(row[0]) if row else 0


def check_schema(
    conn: psycopg.Connection[Any], url: str, part: str = "log", steps: Sequence[Step] = LOG_STEPS
) -> None:
    """Refuse a database whose ``part`` is not at the version this Armada was built for."""
    found, wanted = schema_version(conn, part), len(steps)
    if found == wanted:
        return
    if found > wanted:
        raise EventLogError(
            f"the database at {shown_url(url)} has {part} schema version {found}, newer than this"
            f" Armada knows ({wanted}): run a newer Armada"
        )
    raise EventLogError(
        f"the database at {shown_url(url)} has {part} schema version {found}, this Armada needs"
        f" {wanted}: run `armada migrate --store {shown_url(url)}` first"
    )


def migrate(conn: psycopg.Connection[Any], part: str, steps: Sequence[Step]) -> tuple[int, int]:
    """Apply the missing steps of ``part``; return (version before, version after)."""
    with conn.transaction():
        conn.execute(_LOCK)
        conn.execute(_VERSIONS)
        found = schema_version(conn, part)
        if found > len(steps):
            raise EventLogError(
                f"{part} schema version {found} is newer than this Armada knows ({len(steps)})"
            )
        for step in steps[found:]:
            for statement in step:
                conn.execute(statement.encode())
        conn.execute(
            "INSERT INTO armada_schema (part, version) VALUES (%s, %s)"
            " ON CONFLICT (part) DO UPDATE SET version = excluded.version",
            (part, len(steps)),
        )
    return found, len(steps)
