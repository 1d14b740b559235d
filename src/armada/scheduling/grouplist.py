"""The queued entries of one group of twins, in scheduling order, copied cheaply.

The job database copies a group's sorted list the first time a write transaction touches it
(copy on write). ``SortedList.copy`` builds the copy by sorting the original's values again:
for a queue of tens of thousands of twins, whose entries differ only in their job ids, that is
one tuple comparison (down to the id) per entry, and a round that leases from every queue
of a million queued jobs spent a third of a second on it. The values are already in order in
the original's sublists, so :meth:`GroupList.copy` copies the sublists as they are.

This relies on ``SortedList``'s documented layout in sortedcontainers 2.4 (the version pinned
in ``pyproject.toml``): ``_lists`` (sorted sublists), ``_maxes`` (the last value of each),
``_len``, ``_load``, and ``_index`` (a positional index that an empty list means "rebuild
on demand"). ``tests/scheduling/test_grouplist.py`` checks a copy against a re-sorted one.
"""

from __future__ import annotations

from sortedcontainers import SortedList


class GroupList(SortedList):  # type: ignore[misc]
    """A ``SortedList`` whose :meth:`copy` reuses the order instead of sorting again."""

    def copy(self) -> GroupList:
        twin = GroupList()
        twin._lists = [sub.copy() for sub in self._lists]
        twin._maxes = self._maxes.copy()
        twin._len = self._len
        twin._load = self._load
        return twin  # its positional index is empty: built on first use, as after update()

    __copy__ = copy
