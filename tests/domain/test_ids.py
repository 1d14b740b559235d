"""Job ids are ULIDs: 26 Crockford base32 characters, sortable by creation time."""

from __future__ import annotations

import re

import pytest

from armada.domain.clock import RandomIds, SequentialIds, encode_ulid, encode_ulids, ulids

ULID = re.compile(r"^[0-7][0-9abcdefghjkmnpqrstvwxyz]{25}$")


def test_known_values() -> None:
    assert ulids(0, bytes(10)) == ["0" * 26]
    assert ulids(2**48 - 1, b"\xff" * 10) == ["7" + "z" * 25]
    # 1 ms and randomness 1: the time is in the first 10 characters, the randomness after.
    assert ulids(1, (1).to_bytes(10, "big")) == ["0000000001" + "0" * 15 + "1"]


def test_random_ids_are_unique_well_formed_and_sorted_by_time() -> None:
    ids = RandomIds().job_ids(1000)
    assert len(set(ids)) == 1000
    assert all(ULID.match(i) for i in ids)
    early, late = ulids(1_700_000_000_000, bytes(10)), ulids(1_700_000_000_001, bytes(10))
    assert early < late


def test_sequential_ids_for_tests() -> None:
    ids = SequentialIds("t-")
    assert ids.job_ids(2) == ["t-job-000001", "t-job-000002"]
    assert ids.run_id() == "t-run-000001"


def test_random_ids_are_monotonic_within_a_process() -> None:
    ids = RandomIds()
    made = [i for _ in range(50) for i in ids.job_ids(20)] + [ids.job_id() for _ in range(100)]
    assert made == sorted(made) and len(set(made)) == len(made)


@pytest.mark.parametrize(
    "first", [0, 1020, 1023, 2**128 - 3000, 0x0123_4567_89AB_CDEF_0123_4567_89AB_CDEF]
)
@pytest.mark.parametrize("count", [1, 5, 1000, 2500])
def test_ulids_made_in_bulk_are_those_made_one_by_one(first: int, count: int) -> None:
    assert encode_ulids(first, count) == [encode_ulid(first + i) for i in range(count)]
