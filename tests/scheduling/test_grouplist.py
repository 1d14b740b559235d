"""GroupList: a SortedList whose copy keeps the order instead of sorting again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sortedcontainers import SortedList

from armada.scheduling.grouplist import GroupList

entries = st.tuples(st.integers(0, 3), st.sampled_from([1.0, 2.0]), st.text("abc", max_size=3))
operations = st.lists(st.tuples(st.sampled_from(["add", "discard", "update"]), entries))


def run(target: SortedList, ops: list[tuple[str, tuple[int, float, str]]]) -> None:
    for op, value in ops:
        if op == "add":
            target.add(value)
        elif op == "discard":
            target.discard(value)
        else:
            target.update([value, (value[0] + 1, value[1], value[2])])


@given(st.lists(entries, max_size=300), operations, operations, st.integers(4, 1000))
def test_a_copy_behaves_as_a_sorted_copy_and_leaves_the_original_alone(
    values: list[tuple[int, float, str]],
    before: list[tuple[str, tuple[int, float, str]]],
    after: list[tuple[str, tuple[int, float, str]]],
    load: int,
) -> None:
    group, reference = GroupList(values), SortedList(values)
    group._reset(load)  # a small load: many sublists, as in a queue of thousands
    run(group, before)
    run(reference, before)
    if len(group) > 1:
        assert group[len(group) // 2] == reference[len(reference) // 2]  # builds the index
    twin, twin_reference = group.copy(), SortedList(reference)
    assert isinstance(twin, GroupList) and list(twin) == list(twin_reference)
    assert twin._load == load and len(twin._lists) == len(group._lists)
    run(twin, after)
    run(twin_reference, after)
    assert list(twin) == list(twin_reference) and list(group) == list(reference)
    twin._check()
    group._check()
    for i in range(0, len(twin), max(1, len(twin) // 7)):
        assert twin[i] == twin_reference[i]
        assert twin.index(twin[i]) == twin_reference.index(twin_reference[i])
    if twin:
        assert twin[-1] == twin_reference[-1]
        assert twin.bisect_left(twin[0]) == 0
