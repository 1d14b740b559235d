"""The production event log: PostgreSQL, shared by every process (psycopg 3 and its pool).

One row per sequence in ``event_log``; offsets are assigned under a row lock on the single
row of ``log_head``, so appends are serialised as SQLite's write lock serialises them, offsets
are gap-free and ordered, and the preconditions (:class:`~armada.eventlog.base.Expect`) read
the ``log_keys`` rows (locked ``FOR UPDATE``) in the append's own transaction: of two servers
expecting one state, exactly one appends. An append is pipelined into two round trips: BEGIN,
the head's lock and the preconditions' reads; then the entries, the keys (one statement each
way), the new head, the NOTIFY and COMMIT. A 1,000-job submission is one entry.

Other processes' appends wake this process's :attr:`signal` through LISTEN/NOTIFY (a
listener thread with its own connection, reconnecting with back-off), so waiters see them
without a polling delay; the notifications of its own appends, which fired the signal
themselves, are ignored. The channel is the schema's own (:func:`channel_for`): logs in
other schemas of the same database (another deployment, another test run) wake nobody here.
Failures are the store's own errors: a lost server :class:`StoreUnavailable`, a full pool
:class:`StoreBusy`, a full disk :class:`StoreFull`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from armada.domain.events import EventSequence, LogEntry
from armada.eventlog.base import (
    NEVER_TOUCHED,
    AppendSignal,
    EventLogError,
    Expect,
    KeyState,
    PreconditionFailed,
    StoreBusy,
    StoreFull,
    StoreUnavailable,
    check_limits,
)
from armada.eventlog.codec import decode_sequence, encode_sequence
from armada.eventlog.keys import Effect, key_effects
from armada.eventlog.postgres_schema import check_schema

log = logging.getLogger(__name__)

CHANNEL = "armada_log"
LISTEN_POLL = 0.5  # how often the listener thread looks at whether it should stop
MAX_BACKOFF = 5.0
IDLE_BEFORE_CHECK = 1.0  # seconds a pooled connection may rest and still be used unchecked
OUTAGE_MEMORY = 10.0  # seconds a lost connection makes a pool's timeout read as an outage

# pool -> when a request last found the database unreachable through it
_unreachable_at: weakref.WeakKeyDictionary[ConnectionPool, float] = weakref.WeakKeyDictionary()


@contextmanager
def translated(pool: ConnectionPool | None = None) -> Iterator[None]:
    """PostgreSQL's failures as the store's errors (the API maps them to gRPC statuses)."""
    try:
        yield
    except PoolTimeout as exc:
        if pool is not None and _all_in_use(pool) and not _recently_unreachable(pool):
            raise StoreBusy(f"every database connection is in use ({exc}); retry") from exc
        raise StoreUnavailable(f"the database is unreachable ({exc}); retry") from exc
    except (psycopg.errors.DiskFull, psycopg.errors.OutOfMemory) as exc:
        raise StoreFull(f"the database has no room ({exc}); free space and retry") from exc
    except psycopg.errors.TooManyConnections as exc:
        raise StoreBusy(f"the database refuses more connections ({exc}); retry") from exc
    except psycopg.OperationalError as exc:
        if pool is not None:
            _unreachable_at[pool] = time.monotonic()
        raise StoreUnavailable(f"the database is unreachable ({exc}); retry") from exc


def _recently_unreachable(pool: ConnectionPool) -> bool:
    """Whether a request lost the database through ``pool`` lately: its connections may then
    all be held by requests still finding out, and a wait for one is the outage's, not load's."""
    at = _unreachable_at.get(pool)
    return at is not None and time.monotonic() - at < OUTAGE_MEMORY


def _all_in_use(pool: ConnectionPool) -> bool:
    """Whether the pool has all the connections it may have, none of them free (a pool that
    times out with fewer cannot reach the database)."""
    stats = pool.get_stats()
    return stats.get("pool_size", 0) >= pool.max_size and stats.get("pool_available", 0) == 0


class _IdleCheck:
    """Checks a connection before it is handed out only when it has been idle for a while:
    one that was used a moment ago is as good as a check (a round trip each time costs a busy
    server more than its queries), while one left idle may have been broken by a database
    restart meanwhile and is replaced rather than failing a request. A connection that breaks
    in use fails that request (UNAVAILABLE) and is discarded by the pool when returned."""

    def __init__(self, idle: float = IDLE_BEFORE_CHECK) -> None:
        self.idle = idle
        self.returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    def check(self, conn: psycopg.Connection[Any]) -> None:
        if time.monotonic() - self.returned.get(conn, 0.0) > self.idle:
            ConnectionPool.check_connection(conn)

    def reset(self, conn: psycopg.Connection[Any]) -> None:
        self.returned[conn] = time.monotonic()


def open_pool(url: str, size: int, timeout: float) -> ConnectionPool:
    """A pool of autocommit connections; one idle for a while is checked before it is handed
    out (:class:`_IdleCheck`), so that connections broken by a database restart are replaced
    rather than failing a request."""
    idle = _IdleCheck()
    return ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        timeout=timeout,
        kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
        check=idle.check,
        reset=idle.reset,
        reconnect_timeout=24 * 3600,  # keep trying (with the pool's back-off) while down
        open=True,
        name="armada",
    )


class PostgresEventLog:
    """The log in the database at ``url`` (its schema made by ``armada migrate``)."""

    def __init__(self, url: str, pool_size: int = 10, pool_timeout: float = 5.0) -> None:
        self.url = url
        with translated():
            self.pool = open_pool(url, pool_size, pool_timeout)
            try:
                with self.pool.connection() as conn:
                    check_schema(conn, url)
                    self._channel = channel_for(str(_one(conn, "SELECT current_schema()")[0]))
            except BaseException:
                self.pool.close()
                raise
        self._signal = AppendSignal()
        # The newest offset this object appended (and fired the signal for): its own appends'
        # notifications, and earlier ones', wake nobody a second time.
        self._fired_up_to = 0
        self._closed = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="log-listener", daemon=True)
        self._listener.start()

    @property
    def signal(self) -> AppendSignal:
        return self._signal

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        with translated(self.pool), self.pool.connection() as conn:
            yield conn

    def append(
        self, sequences: Sequence[EventSequence], expect: Sequence[Expect] = ()
    ) -> list[LogEntry]:
        if not sequences:
            return []
        encoded = [encode_sequence(s, compress=True) for s in sequences]
        # Pipelined: the lock and the preconditions' reads go in one round trip with BEGIN,
        # the writes in a second one with COMMIT (a round trip each statement cost more than
        # the statements, on a loaded machine most of all).
        with self._conn() as conn, conn.pipeline(), conn.transaction():
            head_row = conn.execute("SELECT head FROM log_head WHERE id = 1 FOR UPDATE")
            states = _key_states(conn, [wanted.key for wanted in expect], lock=True)
            head = _first(head_row.fetchone())
            _check(expect, states)
            offsets = [head + 1 + i for i in range(len(sequences))]
            conn.cursor().executemany(
                'INSERT INTO event_log ("offset", queue, job_set, created, payload)'
                " VALUES (%s, %s, %s, %s, %s)",
                [
                    (offset, seq.queue, seq.job_set, seq.created, data)
                    for offset, seq, data in zip(offsets, sequences, encoded, strict=True)
                ],
            )
            _apply_keys(conn, zip(offsets, sequences, strict=True))
            conn.execute("UPDATE log_head SET head = %s WHERE id = 1", (offsets[-1],))
            conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(offsets[-1])))
        self._fired_up_to = max(self._fired_up_to, offsets[-1])
        self._signal.fire()
        return [LogEntry(offset=o, sequence=s) for o, s in zip(offsets, sequences, strict=True)]

    def read(self, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        with self._conn() as conn:
            rows = conn.execute(
                'SELECT "offset", payload FROM event_log WHERE "offset" > %s'
                ' ORDER BY "offset" LIMIT %s',
                (after, limit),
            ).fetchall()
        return [LogEntry(offset=o, sequence=decode_sequence(p)) for o, p in rows]

    def read_job_set(self, queue: str, job_set: str, after: int, limit: int) -> list[LogEntry]:
        check_limits(after, limit)
        with self._conn() as conn:
            rows = conn.execute(
                'SELECT "offset", payload FROM event_log WHERE queue = %s AND job_set = %s'
                ' AND "offset" > %s ORDER BY "offset" LIMIT %s',
                (queue, job_set, after, limit),
            ).fetchall()
        return [LogEntry(offset=o, sequence=decode_sequence(p)) for o, p in rows]

    def job_set_exists(self, queue: str, job_set: str) -> bool:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT 1 FROM event_log WHERE queue = %s AND job_set = %s LIMIT 1",
                (queue, job_set),
            ).fetchone()
        return row is not None

    def key_state(self, key: str) -> KeyState:
        with self._conn() as conn:
            return _key_states(conn, [key], lock=False).get().get(key, NEVER_TOUCHED)

    def head(self) -> int:
        with self._conn() as conn:
            (head,) = _one(conn, "SELECT head FROM log_head WHERE id = 1")
        return int(head)

    def prune(self, queue: str, job_set: str, up_to: int, limit: int) -> int:
        with self._conn() as conn:
            deleted = conn.execute(
                'DELETE FROM event_log WHERE "offset" IN (SELECT "offset" FROM event_log'
                ' WHERE queue = %s AND job_set = %s AND "offset" <= %s ORDER BY "offset"'
                " LIMIT %s)",
                (queue, job_set, up_to, limit),
            ).rowcount
        return int(deleted)

    def drop_keys(self, keys: Sequence[str]) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM log_keys WHERE key = ANY(%s)", (list(keys),))

    def close(self) -> None:
        self._closed.set()
        self._listener.join(timeout=5)
        self.pool.close()

    def _listen(self) -> None:
        """Fire :attr:`signal` on every other process's append, until closed; reconnect with
        back-off when the database goes away (firing once on reconnecting, since appends
        made meanwhile were not announced). The notifications of this object's own appends
        (and of any append before its newest, which committed before it) fire nothing: the
        append fired the signal itself, once it had committed."""
        backoff = 0.1
        reconnecting = False
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    backoff = 0.1
                    if reconnecting:
                        self._signal.fire()
                    reconnecting = True
                    while not self._closed.is_set():
                        for notify in conn.notifies(timeout=LISTEN_POLL, stop_after=1):
                            if _offset(notify.payload) > self._fired_up_to:
                                self._signal.fire()
            except psycopg.Error as exc:
                log.warning("event log listener: %s; reconnecting in %.1fs", exc, backoff)
                self._closed.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)


def channel_for(schema: str) -> str:
    """The NOTIFY channel of the log in ``schema``: one per schema, within PostgreSQL's 63
    bytes for a name (a longer schema name is hashed)."""
    name = f"{CHANNEL}:{schema}"
    if len(name.encode()) > 63:
        name = f"{CHANNEL}:{hashlib.sha1(schema.encode()).hexdigest()}"
    return name


def _offset(payload: str) -> int:
    """The offset a notification announces (the newest of its append); unknown: the newest."""
    try:
        return int(payload)
    except ValueError:
        return 2**63


def _one(conn: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    if row is None:
        raise EventLogError(f"the log's schema is incomplete ({sql!r} found nothing)")
    return tuple(row)


class _KeyStates:
    """The states of some keys, read when first asked for (in a pipeline: after the reads
    queued with it have been sent together)."""

    def __init__(self, cursor: psycopg.Cursor[Any] | None) -> None:
        self._cursor = cursor

    def get(self) -> dict[str, KeyState]:
        rows = self._cursor.fetchall() if self._cursor is not None else []
        return {key: KeyState(exists=bool(present), version=int(v)) for key, present, v in rows}


def _key_states(conn: psycopg.Connection[Any], keys: Sequence[str], lock: bool) -> _KeyStates:
    if not keys:
        return _KeyStates(None)
    return _KeyStates(
        conn.execute(
            "SELECT key, present, version FROM log_keys WHERE key = ANY(%s)"
            + (" FOR UPDATE" if lock else ""),
            (list(keys),),
        )
    )


def _first(row: tuple[Any, ...] | None) -> int:
    if row is None:
        raise EventLogError("the log's schema is incomplete (log_head has no row)")
    return int(row[0])


def _check(expect: Sequence[Expect], found: _KeyStates) -> None:
    if not expect:
        return
    states = found.get()
    for wanted in expect:
        actual = states.get(wanted.key, NEVER_TOUCHED)
        if not wanted.holds(actual):
            raise PreconditionFailed(wanted, actual)


def _apply_keys(
    conn: psycopg.Connection[Any], appended: Iterator[tuple[int, EventSequence]]
) -> None:
    """Record what the appended sequences did to their keys, in two statements: keys whose
    existence they set, and keys they only touched (whose existence stays as it was)."""
    final: dict[str, tuple[Effect, int]] = {}
    for offset, sequence in appended:
        for key, effect in key_effects(sequence).items():
            earlier = final.get(key, (None, 0))[0]
            final[key] = (earlier if effect is None else effect, offset)
    set_keys = [(k, e, v) for k, (e, v) in final.items() if e is not None]
    touched = [(k, v) for k, (e, v) in final.items() if e is None]
    if set_keys:
        conn.execute(
            "INSERT INTO log_keys (key, present, version)"
            " SELECT * FROM unnest(%s::text[], %s::boolean[], %s::bigint[])"
            " ON CONFLICT (key) DO UPDATE SET present = excluded.present,"
            " version = excluded.version",
            ([k for k, _, _ in set_keys], [e for _, e, _ in set_keys], [v for *_, v in set_keys]),
        )
    if touched:
        conn.execute(
            "INSERT INTO log_keys (key, present, version)"
            " SELECT k, false, v FROM unnest(%s::text[], %s::bigint[]) AS t (k, v)"
            " ON CONFLICT (key) DO UPDATE SET version = excluded.version",
            ([k for k, _ in touched], [v for _, v in touched]),
        )
