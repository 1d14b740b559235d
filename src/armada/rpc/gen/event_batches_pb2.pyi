from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class JobSetBatchRequest(_message.Message):
    __slots__ = ("queue", "id", "from_message_id", "watch", "error_if_missing", "max_batch")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    WATCH_FIELD_NUMBER: _ClassVar[int]
    ERROR_IF_MISSING_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    queue: str
    id: str
    from_message_id: str
    watch: bool
    error_if_missing: bool
    max_batch: int
    def __init__(self, queue: _Optional[str] = ..., id: _Optional[str] = ..., from_message_id: _Optional[str] = ..., watch: _Optional[bool] = ..., error_if_missing: _Optional[bool] = ..., max_batch: _Optional[int] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, messages: _Optional[_Iterable[bytes]] = ...) -> None: ...
