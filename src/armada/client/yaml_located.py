"""YAML values that remember where they were written, and the error that names the place."""

from __future__ import annotations

from typing import Any


class FileError(Exception):
    """A file that cannot be used, with where (file and line) and what is wrong."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class LocatedDict(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    @classmethod
    def at(cls, line: int) -> LocatedDict:
        located = cls()
        located.line, located.key_lines = line, {}
        return located


class LocatedList(list[Any]):
    """A YAML sequence that remembers the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    @classmethod
    def at(cls, line: int) -> LocatedList:
        located = cls()
        located.line, located.item_lines = line, []
        return located


def key_line(container: Any, key: Any, default: int | None) -> int | None:
    lines = getattr(container, "key_lines", None)
    return lines.get(key, default) if lines else default
