from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MostRecentForQueue(_message.Message):
    __slots__ = ("queue_name",)
    QUEUE_NAME_FIELD_NUMBER: _ClassVar[int]
    queue_name: str
    def __init__(self, queue_name: _Optional[str] = ...) -> None: ...

class MostRecentForJob(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class SchedulingReportRequest(_message.Message):
    __slots__ = ("most_recent_for_queue", "most_recent_for_job", "verbosity")
    MOST_RECENT_FOR_QUEUE_FIELD_NUMBER: _ClassVar[int]
    MOST_RECENT_FOR_JOB_FIELD_NUMBER: _ClassVar[int]
    VERBOSITY_FIELD_NUMBER: _ClassVar[int]
    most_recent_for_queue: MostRecentForQueue
    most_recent_for_job: MostRecentForJob
    verbosity: int
    def __init__(self, most_recent_for_queue: _Optional[_Union[MostRecentForQueue, _Mapping]] = ..., most_recent_for_job: _Optional[_Union[MostRecentForJob, _Mapping]] = ..., verbosity: _Optional[int] = ...) -> None: ...

class SchedulingReport(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: str
    def __init__(self, report: _Optional[str] = ...) -> None: ...

class QueueReportRequest(_message.Message):
    __slots__ = ("queue_name", "verbosity")
    QUEUE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERBOSITY_FIELD_NUMBER: _ClassVar[int]
    queue_name: str
    verbosity: int
    def __init__(self, queue_name: _Optional[str] = ..., verbosity: _Optional[int] = ...) -> None: ...

class QueueReport(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: str
    def __init__(self, report: _Optional[str] = ...) -> None: ...

class JobReportRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobReport(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: str
    def __init__(self, report: _Optional[str] = ...) -> None: ...

class QueueSharesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QueueShare(_message.Message):
    __slots__ = ("pool", "cycle", "started", "queue", "fair_share", "adjusted_fair_share", "actual_share", "demand", "queued_jobs", "running_jobs")
    POOL_FIELD_NUMBER: _ClassVar[int]
    CYCLE_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    FAIR_SHARE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_FAIR_SHARE_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_SHARE_FIELD_NUMBER: _ClassVar[int]
    DEMAND_FIELD_NUMBER: _ClassVar[int]
    QUEUED_JOBS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOBS_FIELD_NUMBER: _ClassVar[int]
    pool: str
    cycle: int
    started: float
    queue: str
    fair_share: float
    adjusted_fair_share: float
    actual_share: float
    demand: float
    queued_jobs: int
    running_jobs: int
    def __init__(self, pool: _Optional[str] = ..., cycle: _Optional[int] = ..., started: _Optional[float] = ..., queue: _Optional[str] = ..., fair_share: _Optional[float] = ..., adjusted_fair_share: _Optional[float] = ..., actual_share: _Optional[float] = ..., demand: _Optional[float] = ..., queued_jobs: _Optional[int] = ..., running_jobs: _Optional[int] = ...) -> None: ...

class QueueShares(_message.Message):
    __slots__ = ("shares",)
    SHARES_FIELD_NUMBER: _ClassVar[int]
    shares: _containers.RepeatedCompositeFieldContainer[QueueShare]
    def __init__(self, shares: _Optional[_Iterable[_Union[QueueShare, _Mapping]]] = ...) -> None: ...
