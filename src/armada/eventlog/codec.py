"""How event sequences are stored: msgpack, with field names, so old entries stay readable.

Fields are encoded by name (not position) and defaults are omitted, so adding a field with a
default never breaks entries written before it.

A store that sends entries over the network (PostgreSQL) may keep them zlib-compressed
(``compress=True``): a 1,000-job submission is about 0.5 MB of msgpack that is mostly the same
pod spec over and over, and shrinks a hundredfold in under a millisecond, while writing it
plain costs the database far more (its own compression, and its WAL). Decoding reads both: a
msgpack sequence starts with a map header (0x80-0x8f, 0xde, 0xdf), a zlib stream with 0x78.
"""

from __future__ import annotations

import zlib

import msgspec

from armada.domain.events import EventSequence

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(EventSequence)
COMPRESS_ABOVE = 4096  # bytes of msgpack; smaller entries are stored as they are


def encode_sequence(sequence: EventSequence, *, compress: bool = False) -> bytes:
    data = _encoder.encode(sequence)
    if compress and len(data) > COMPRESS_ABOVE:
        return zlib.compress(data, 1)
    return data


def decode_sequence(data: bytes) -> EventSequence:
    if data[:1] == b"\x78":
        data = zlib.decompress(data)
    return _decoder.decode(data)
