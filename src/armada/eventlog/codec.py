"""How event sequences are stored: msgpack, with field names, so old entries stay readable.

Fields are encoded by name (not position) and defaults are omitted, so adding a field with a
default never breaks entries written before it.
"""

from __future__ import annotations

import msgspec

from armada.domain.events import EventSequence

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(EventSequence)


def encode_sequence(sequence: EventSequence) -> bytes:
    return _encoder.encode(sequence)


def decode_sequence(data: bytes) -> EventSequence:
    return _decoder.decode(data)
