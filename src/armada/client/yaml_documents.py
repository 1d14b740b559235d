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

from armada.client.yaml_blocks import BlockReader, NotSimple
from armada.client.yaml_located import FileError, LocatedDict, LocatedList, key_line

__all__ = [
    "FileError",
    "LocatedDict",
    "LocatedList",
    "key_line",
    "load_simple_document",
    "load_yaml_documents",
]


# libyaml's parser (PyYAML's C loader) when PyYAML was built with it: it parses a 10,000-job
# file several times faster than the pure-Python one, and its nodes carry the same line marks.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = (None, "!", yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG)
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
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
        self.plain_values: dict[str, Any] = {}  # immutable: None, bool, int, float, str, date

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
            return self.plain(value)
        return self.tagged(tag, value, event)

    def plain(self, value: str) -> Any:
        """A plain scalar's value: it depends on its text alone, so each is made once."""
        try:
            return self.plain_values[value]
        except KeyError:
            tag = self.loader.resolve(ScalarNode, value, (True, False))
            made = self.plain_values[value] = self.tagged(tag, value)
            return made

    def tagged(self, tag: str, value: str, event: Any = None) -> Any:
        if tag == _STR:
            return value
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None or tag == _MERGE:
            raise _LeftToPyYAML  # a merge key, or an unknown tag (PyYAML names the error)
        marks = (event.start_mark, event.end_mark, event.style) if event else (None, None, None)
        return construct(self.loader, ScalarNode(tag, value, *marks))

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
    try:
        return [load_simple_document(text, hook)]
    except (NotSimple, _LeftToPyYAML, FileError, yaml.YAMLError):
        pass  # read again by libyaml: the values, or the error with its line, are its own
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


def load_simple_document(text: str, hook: ItemHook | None = None) -> Any:
    """The one document of a text in the common block shape (``yaml_blocks``); NotSimple
    (or the hook's error) otherwise."""
    if _NON_PRINTABLE.search(text):
        raise NotSimple
    loader = _SafeLoader("")
    try:
        return BlockReader(text, _EventReader(loader, None).plain, hook).document()
    finally:
        loader.dispose()


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
