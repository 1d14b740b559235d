"""Settings of the API server (``armada server``) and of the storage every component opens."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from armada.config.base import Duration, Settings
from armada.config.http import HttpSettings
from armada.config.scheduling import SchedulingSettings
from armada.config.submission import SubmissionSettings


def shown_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


class GrpcSettings(Settings):
    """Where and how the gRPC API listens."""

    host: str = Field("localhost", description="Interface the gRPC API listens on.")
    port: int = Field(
        50051,
        ge=0,
        le=65535,
        description="gRPC port (Armada's: 50051 for the server, 50052 for the scheduler).",
    )
    max_message_bytes: int = Field(
        64 * 2**20, gt=0, description="Largest request accepted (a 1,000-job submission is ~1 MiB)."
    )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class StorageSettings(Settings):
    """The store: the event log and the query store built from it."""

    data_dir: Path = Field(Path(".armada"), description="Where the embedded store keeps its files.")
    event_log: Literal["sqlite", "memory"] = Field(
        "sqlite", description="sqlite: durable, in data_dir; memory: for tests, lost on exit."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="FULL: an acknowledged append survives power loss; NORMAL: survives a "
        "process crash only, and is faster.",
    )
    store: str = Field(
        "",
        pattern=r"^(|postgres(ql)?://.*)$",
        description="A postgresql:// URL: keep the log and the views in PostgreSQL, shared by "
        "processes on several machines (run `armada migrate --store URL` first); empty: the "
        "embedded store in data_dir (event_log says which).",
    )
    pool_size: int = Field(10, gt=0, description="PostgreSQL: most connections one process opens.")
    pool_timeout: Duration = Field(
        timedelta(seconds=5),
        description="PostgreSQL: how long a request waits for a connection (from a full pool, "
        "or while the database is unreachable) before it fails with RESOURCE_EXHAUSTED or "
        "UNAVAILABLE rather than hanging.",
    )

    expire_after: Duration = Field(
        timedelta(0),
        description="Retention (Armada's expireAfter): a job set whose jobs all finished "
        "longer ago than this is deleted, its log entries and jobs; 0: keep everything.",
    )
    prune_interval: Duration = Field(
        timedelta(minutes=1), description="How often the API server looks for expired job sets."
    )
    prune_batch: int = Field(
        500, gt=0, description="Log entries or jobs deleted per transaction (small: no stall)."
    )

    @property
    def postgres(self) -> bool:
        return bool(self.store)

    @property
    def shown(self) -> str:
        """Where the store is, for people (a URL's password hidden)."""
        if self.postgres:
            return shown_url(self.store)
        return f"{self.database_path} ({self.event_log})"

    @property
    def database_path(self) -> Path:
        """The event log (the truth: back it up)."""
        return self.data_dir / "armada.db"

    @property
    def views_path(self) -> Path:
        """The query store (rebuilt from the log when missing or damaged)."""
        return self.data_dir / "views.db"


class EventApiSettings(Settings):
    """How api.Event streams read the log."""

    read_batch: int = Field(
        500,
        gt=0,
        description="Most log entries one read of a job set takes (fewer when they hold "
        "many events: a page holds about 500).",
    )
    poll_interval: Duration = Field(
        timedelta(seconds=1),
        description="How often a watch re-checks the log for appends made by other processes.",
    )
    tail_interval: Duration = Field(
        timedelta(milliseconds=250),
        description="Once a watched job set's tail has caught up with the log, the least time "
        "before it reads the new events: each of its watchers then gets what came in that "
        "time in one batch (fewer, larger gRPC messages when many watch; events wait up to "
        "this long). A tail behind the log reads on without waiting.",
    )
    tail_bytes: int = Field(
        16 * 2**20,
        gt=0,
        description="Recent events kept serialised per watched job set, shared by its "
        "watchers; a watcher further behind reads the log by itself, a page at a time.",
    )


class QueryApiSettings(Settings):
    """Limits and defaults of api.Jobs."""

    max_query_items: int = Field(
        500, gt=0, description="Most job or run ids one Jobs API call may ask about."
    )
    default_pool: str = Field(
        "default", description="Pool reported for queued jobs the scheduler has not placed yet."
    )


class AuthSettings(Settings):
    """Who callers are (authentication itself is not enforced yet)."""

    anonymous_user: str = Field(
        "anonymous", description="User name of callers who present no credentials."
    )


class ServerSettings(Settings):
    """``armada server``: the public gRPC API."""

    grpc: GrpcSettings = Field(default_factory=GrpcSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    submission: SubmissionSettings = Field(default_factory=SubmissionSettings)
    scheduling: SchedulingSettings = Field(default_factory=SchedulingSettings)
    events: EventApiSettings = Field(default_factory=EventApiSettings)
    queries: QueryApiSettings = Field(default_factory=QueryApiSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
