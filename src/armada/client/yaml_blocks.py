"""The common shape of a generated job file, read line by line without libyaml.

A script that writes 10,000 jobs writes block YAML of a narrow kind: one ``key: value`` or
``- item`` per line, plain or simply quoted scalars, short flow lists (``args: ["sh", "-c"]``)
and ``{}``. Reading that a line at a time costs a third of what building libyaml's parse events
in Python does (``yaml_documents``), and gives the same values with the same lines.

Anything else (comments after a value, escapes, multi-line scalars, anchors, tags, flow
mappings, several documents, a syntax error...) raises :class:`NotSimple` and the caller reads
the whole text again with the full reader, so the values, and the errors with their lines, are
always the full reader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from armada.client.yaml_located import LocatedDict, LocatedList


class NotSimple(Exception):
    """The text is not in the subset read here: read it with the full reader."""


PlainScalar = Callable[[str], Any]
"""What a plain (unquoted) scalar means: resolved and constructed as YAML 1.1 does."""

ItemConvert = Callable[[Any, int, int], Any]

_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +(.*))?$")
# A plain scalar that starts as libyaml allows one to and has no `: ` or `#` (its text would
# end there); `-` only before something other than a space (`-1`, not an item).
_PLAIN = re.compile(r"(?:[^-?:,\[\]{}#&*!|>'\"%@`\s]|-(?=[^\s]))[^#]*$")
_FLOW_ITEM = re.compile(
    r"\s*(?:\"([^\"\\]*)\"|'([^']*)'|((?:[^-?:,\[\]{}#&*!|>'\"%@`\s]|-(?=[^\s,\]]))[^,\[\]{}#:]*))"
    r"\s*(,|\]$)"
)


def _lines(text: str) -> tuple[list[int], list[int], list[str]]:
    """The line number, indent and text of every line that holds something."""
    if "\t" in text or "\r" in text or text.startswith("\ufeff"):
        raise NotSimple
    raw = text.split("\n")
    contents = [line.lstrip(" ") for line in raw]
    kept = [i for i, content in enumerate(contents) if content and content[0] != "#"]
    texts = [contents[i].rstrip(" ") for i in kept]
    if any(t[0] == "%" or t.startswith(("---", "...")) for t in texts):
        raise NotSimple  # directives, document markers
    indents = [len(raw[i]) - len(contents[i]) for i in kept]
    return [i + 1 for i in kept], indents, texts


class BlockReader:
    """One document of block mappings and lists, its values made as the full reader makes
    them (``LocatedDict``, ``LocatedList``, and ``plain`` for plain scalars)."""

    def __init__(self, text: str, plain: PlainScalar, hook: tuple[str, ItemConvert] | None) -> None:
        self.numbers, self.indents, self.texts = _lines(text)
        self.indents.append(-1)  # past the end: outdented below everything
        self.plain = plain
        self.hook = hook
        self.at = 0

    def document(self) -> Any:
        if not self.texts:
            raise NotSimple
        value = self.block(self.indents[0], top=True)
        if self.at != len(self.texts):
            raise NotSimple  # something outdented, or indented oddly
        return value

    def block(self, indent: int, top: bool = False) -> Any:
        if _is_item(self.texts[self.at]):
            return self.sequence(indent, None)
        return self.mapping(indent, top)

    def mapping(self, indent: int, top: bool = False) -> LocatedDict:
        indents, texts, numbers = self.indents, self.texts, self.numbers
        result = LocatedDict()
        key_lines: dict[Any, int] = {}
        result.line, result.key_lines = numbers[self.at], key_lines
        hook = self.hook[0] if top and self.hook is not None else None
        plain, inline, match = self.plain, self.inline, _KEY.match
        while indents[self.at] == indent:
            at = self.at
            found = match(texts[at])
            if found is None:
                raise NotSimple
            key, rest = found.groups()
            key = plain(key)
            if key in result or isinstance(key, (dict, list)):
                raise NotSimple  # the full reader names the duplicate
            self.at = at + 1
            if rest:
                if key == hook and rest[0] == "[":
                    raise NotSimple
                result[key] = inline(rest, numbers[at])
                if indents[at + 1] > indent:
                    raise NotSimple  # a scalar going on over lines, or a syntax error
            else:
                result[key] = self.nested(indent, key == hook)
            key_lines[key] = numbers[at]
        if indents[self.at] > indent:
            raise NotSimple
        return result

    def nested(self, indent: int, hooked: bool) -> Any:
        """The value of ``key:`` with nothing after it: a block below, a list at the same
        indent, or null."""
        following = self.indents[self.at]
        convert = self.hook[1] if hooked and self.hook is not None else None
        if following > indent:
            if _is_item(self.texts[self.at]):
                return self.sequence(following, convert)
            return self.mapping(following)
        if following == indent and self.texts[self.at].startswith("- "):
            return self.sequence(indent, convert)
        return None

    def sequence(self, indent: int, convert: ItemConvert | None) -> LocatedList:
        indents, texts, numbers = self.indents, self.texts, self.numbers
        result = LocatedList()
        item_lines: list[int] = []
        result.line, result.item_lines = numbers[self.at], item_lines
        while indents[self.at] == indent:
            at = self.at
            text = texts[at]
            if not text.startswith("- "):
                if text == "-":
                    raise NotSimple  # an item on the lines below
                break  # the mapping holding this list goes on
            rest = text[2:].lstrip(" ")
            if rest[0] == "-" and (rest == "-" or rest[1] == " "):
                raise NotSimple  # a list in a list
            if _KEY.match(rest):
                indents[at] += len(text) - len(rest)  # the item's first key, where it is
                texts[at] = rest
                item: Any = self.mapping(indents[at])
            else:
                self.at = at + 1
                item = self.inline(rest, numbers[at])
                if indents[at + 1] > indent:
                    raise NotSimple
            if convert is not None:
                item = convert(item, len(result), numbers[at])
            result.append(item)
            item_lines.append(numbers[at])
        if indents[self.at] > indent:
            raise NotSimple
        return result

    def inline(self, text: str, number: int) -> Any:
        """A value written on its key's (or dash's) line."""
        first = text[0]
        if first == '"':
            if text[-1] != '"' or len(text) < 2 or '"' in text[1:-1] or "\\" in text:
                raise NotSimple
            return text[1:-1]
        if first == "'":
            if text[-1] != "'" or len(text) < 2 or "'" in text[1:-1]:
                raise NotSimple
            return text[1:-1]
        if first == "[":
            return self.flow_list(text, number)
        if text == "{}":
            return LocatedDict.at(number)
        if ": " in text or text[-1] == ":" or not _PLAIN.match(text):
            raise NotSimple
        return self.plain(text)

    def flow_list(self, text: str, number: int) -> LocatedList:
        result = LocatedList.at(number)
        if text[1:].strip(" ") == "]":
            return result
        position = 1
        while True:
            found = _FLOW_ITEM.match(text, position)
            if found is None:
                raise NotSimple
            double, single, plain, end = found.groups()
            if double is not None:
                result.append(double)
            elif single is not None:
                result.append(single)
            else:
                result.append(self.plain(plain.rstrip(" ")))
            result.item_lines.append(number)
            position = found.end()
            if end == "]":
                return result


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")
