"""YAML documents with the line of every key and item, read fast enough for 10,000 jobs.

Armada's files are written by hand, so errors name lines; and they are also generated, ten
thousand jobs at a time, so reading must not cost seconds per thousand jobs. Two readers:

* the fast one builds plain values straight from libyaml's parse events (PyYAML's C parser),
  keeping the lines and never building PyYAML's node tree (hundreds of MB for a large file);
  a caller may turn the items of one top-level list into something smaller as each is read
  (job files turn each job into its protobuf message), so the whole document is never held;
* PyYAML's loader with line-keeping constructors (on libyaml too, when PyYAML has it) takes
  over for what the fast one leaves to it: anchors and aliases, merge keys (``<<``) and
  explicit tags on mappings and lists. Both give the same values, errors and lines.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode


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


# libyaml's parser (PyYAML's C loader) when PyYAML was built with it: it parses a 10,000-job
# file several times faster than the pure-Python one, and its nodes carry the same line marks.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = (None, "!", yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG)
_PLAIN_LIST_TAGS = (None, "!", yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG)

ItemHook = tuple[str, Callable[[Any, int, int], Any]]
"""A top-level key, and what to make of each item of the list under it: ``f(item, index,
line)`` (its result is kept instead of the item)."""


class _LocatingLoader(_SafeLoader):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> LocatedDict:
    written = {id(key_node) for key_node, _ in node.value}
    loader.flatten_mapping(node)  # merged keys (`<<: *base`) first, the mapping's own after
    result = LocatedDict.at(node.start_mark.line + 1)
    own: set[Any] = set()
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, (dict, list)):
            raise FileError("a mapping key must be a plain value", line=line)
        if id(key_node) in written:
            if key in own:
                raise FileError(f"duplicate key {key!r}", line=line)
            own.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LocatingLoader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence
)


class _LeftToPyYAML(Exception):
    """The document uses something the fast reader leaves to PyYAML's loader."""


class _EventReader:
    """Values from the parser's events, depth first, as PyYAML's safe constructor makes them."""

    def __init__(self, loader: Any, hook: ItemHook | None) -> None:
        self.loader = loader
        self.hook = hook
        self.plain_tags: dict[str, str] = {}

    def documents(self) -> list[Any]:
        loader = self.loader
        loader.get_event()  # StreamStart
        documents = []
        while not loader.check_event(StreamEndEvent):
            loader.get_event()  # DocumentStart
            documents.append(self.value(loader.get_event(), top=True))
            loader.get_event()  # DocumentEnd
        return documents

    def value(self, event: Any, top: bool = False) -> Any:
        kind = type(event)
        if kind is ScalarEvent:
            return self.scalar(event)
        if kind is MappingStartEvent and event.anchor is None and event.tag in _PLAIN_TAGS:
            return self.mapping(event, top)
        if kind is SequenceStartEvent and event.anchor is None and event.tag in _PLAIN_LIST_TAGS:
            return self.sequence(event, None)
        raise _LeftToPyYAML  # an alias, an anchored or tagged collection

    def scalar(self, event: Any) -> Any:
        if event.anchor is not None:
            raise _LeftToPyYAML
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted: a string
            tag = self.plain_tags.get(value)
            if tag is None:  # a plain scalar's tag depends on its text alone: resolve each once
                tag = self.plain_tags[value] = self.loader.resolve(ScalarNode, value, (True, False))
        if tag == _STR:
            return value
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None or tag == _MERGE:
            raise _LeftToPyYAML  # a merge key, or an unknown tag (PyYAML names the error)
        node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        return construct(self.loader, node)

    def events_until(self, end: type) -> Iterator[tuple[Any, int]]:
        """The events inside a collection, each with its line, up to its ``end`` event."""
        get_event = self.loader.get_event
        event = get_event()
        while type(event) is not end:
            yield event, event.start_mark.line + 1
            event = get_event()

    def mapping(self, start: Any, top: bool) -> LocatedDict:
        result = LocatedDict.at(start.start_mark.line + 1)
        for event, line in self.events_until(MappingEndEvent):
            if type(event) is not ScalarEvent:
                if type(event) is AliasEvent:
                    raise _LeftToPyYAML
                raise FileError("a mapping key must be a plain value", line=line)
            key = self.scalar(event)
            if key in result:
                raise FileError(f"duplicate key {key!r}", line=line)
            value = self.loader.get_event()
            hook = self.hook
            if top and hook is not None and key == hook[0] and type(value) is SequenceStartEvent:
                if value.anchor is not None or value.tag not in _PLAIN_LIST_TAGS:
                    raise _LeftToPyYAML
                result[key] = self.sequence(value, hook[1])
            else:
                result[key] = self.value(value)
            result.key_lines[key] = line
        return result

    def sequence(self, start: Any, convert: Callable[[Any, int, int], Any] | None) -> LocatedList:
        result = LocatedList.at(start.start_mark.line + 1)
        for event, line in self.events_until(SequenceEndEvent):
            item = self.value(event)
            if convert is not None:
                item = convert(item, len(result), line)
            result.append(item)
            result.item_lines.append(line)
        return result


def _read(text: str, hook: ItemHook | None) -> list[Any]:
    loader = _SafeLoader(text)
    try:
        return _EventReader(loader, hook).documents()
    except _LeftToPyYAML:
        pass
    finally:
        loader.dispose()
    documents = list(yaml.load_all(text, Loader=_LocatingLoader))
    if hook is None:
        return documents
    key, convert = hook
    for document in documents:
        items = document.get(key) if isinstance(document, dict) else None
        if isinstance(items, LocatedList):
            items[:] = [convert(item, i, items.item_lines[i]) for i, item in enumerate(items)]
    return documents


def load_yaml_documents(
    text: str, path: str | None = None, item_hook: ItemHook | None = None
) -> list[Any]:
    """Every non-empty document of a YAML stream, mappings and lists carrying their lines;
    with ``item_hook``, the items of that top-level list as the hook made them."""
    try:
        documents = _read(text, item_hook)
    except FileError as exc:
        raise FileError(exc.message, path=exc.path or path, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        line = mark.line + 1 if mark is not None else None
        raise FileError(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise FileError(f"invalid YAML: {exc}", path=path) from None
    return [document for document in documents if document is not None]
