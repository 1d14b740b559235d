"""The line reader for the common job-file shape gives exactly what libyaml's events give, or
leaves the text to them."""

from __future__ import annotations

from typing import Any

import pytest
from bench.submit_armadactl import job_file

from armada.client.yaml_blocks import NotSimple
from armada.client.yaml_documents import _EventReader, _SafeLoader, load_simple_document
from armada.client.yaml_located import LocatedDict, LocatedList


def full_reader(text: str) -> Any:
    loader = _SafeLoader(text)
    try:
        (document,) = _EventReader(loader, None).documents()
    finally:
        loader.dispose()
    return document


def assert_same(fast: Any, full: Any, where: str = "") -> None:
    assert type(fast) is type(full), where
    if isinstance(full, LocatedDict):
        assert (fast.line, fast.key_lines) == (full.line, full.key_lines), where
        assert list(fast) == list(full), where
        for key in full:
            assert_same(fast[key], full[key], f"{where}.{key}")
    elif isinstance(full, LocatedList):
        assert (fast.line, fast.item_lines) == (full.line, full.item_lines), where
        assert len(fast) == len(full), where
        for i, (a, b) in enumerate(zip(fast, full, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert fast == full, where


SIMPLE = [
    job_file(3, "set"),
    "a: 1\nb: 1.5\nc: true\nd: yes\ne: null\nf: ~\ng: 2001-12-14\nh: 0x1f\ni: -3\nj: '7'\n",
    "a:\nb:\n  c: d\n",
    "top:\n- a\n- b: 1\n  c: 2\n- 'x'\nnext: 3\n",
    "l: []\nm: {}\nn: [1, two, 'three', \"four, five\", -1, 1e3, true]\n",
    "  indented: 1\n  also: [ a , b ]\n",
    "# a comment\n\nkey: value with spaces  \n\n# another\nurl: http://x.example/a:b\n",
    "- 1\n- - x\n",
    "list:\n  -   spaced: 1\n      same: 2\n  - plain\n",
    "true: 1\n2: two\nnull: nothing\n",
]


@pytest.mark.parametrize("text", SIMPLE)
def test_simple_shapes_read_as_libyaml_reads_them(text: str) -> None:
    try:
        fast = load_simple_document(text, None)
    except NotSimple:
        if text.startswith("- 1\n- - x"):
            return  # a list in a list is left to libyaml
        raise
    assert_same(fast, full_reader(text))


def test_a_generated_job_file_is_read_by_the_line_reader() -> None:
    assert_same(load_simple_document(job_file(50, "set"), None), full_reader(job_file(50, "set")))


LEFT_TO_LIBYAML = [
    "a: 1 # trailing comment\n",
    "a: |\n  text\n",
    "a: >\n  folded\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    'a: "esc\\n"\n',
    "a: 'it''s'\n",
    "a: plain\n  continued\n",
    "a: {b: 1}\n",
    "a: [1,\n  2]\n",
    "---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\na: 2\n",
    "a:\n    b: 1\n  c: 2\n",
    "a:\n  - x\n  b: 1\n",
    "<<: {a: 1}\n",
    "a: b: c\n",
    "a:\tb\n",
    "'quoted key': 1\n",
    "just a scalar\n",
    "",
    "a: \x07\n",
    "- \n- x\n",
    "a: b\n- c\n",
    "? complex\n: key\n",
    "a: :x\n",
]


@pytest.mark.parametrize("text", LEFT_TO_LIBYAML)
def test_everything_else_is_left_to_libyaml(text: str) -> None:
    with pytest.raises(NotSimple):
        load_simple_document(text, None)
