"""scripts/check_structure.py finds what issue 12 forbids; the scheduling core has none of it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_structure", ROOT / "scripts" / "check_structure.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "__init__.py").write_text("")
    for name, text in files.items():
        (src / name).write_text(text)
    return src


LATE = """
from dataclasses import dataclass

class Base:
    def __init__(self) -> None:
        self.inherited = 0

class Round(Base):
    declared: int

    def __init__(self) -> None:
        super().__init__()
        self.a = 1

    def run(self) -> None:
        self.a = 2
        self.inherited = 3
        self.declared = 4
        self.shares, self.late = 5, 6

@dataclass
class Fields:
    x: int = 0

    def bump(self) -> None:
        self.x += 1
"""


def test_an_attribute_first_set_outside_init_is_found(checker: ModuleType, tmp_path: Path) -> None:
    found = checker.violations(_package(tmp_path, {"late.py": LATE}))
    assert set(found) == {"attr pkg.late.Round.shares", "attr pkg.late.Round.late"}
    assert "first set in run()" in found["attr pkg.late.Round.late"]


def test_an_import_circle_and_a_long_module_are_found(checker: ModuleType, tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg.a import X\n",
            "c.py": "from . import a\n" + "x = 1\n" * 500,
        },
    )
    found = checker.violations(src)
    assert set(found) == {"cycle pkg.a pkg.b", "lines pkg.c"}
    assert "pkg.a -> pkg.b" in found["cycle pkg.a pkg.b"]


def test_the_allowlist_lets_known_violations_pass_and_warns_when_one_is_fixed(
    checker: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _package(tmp_path, {"late.py": LATE})
    allowlist = tmp_path / "allow.txt"
    allowlist.write_text("attr pkg.late.Round.shares  # why\n")
    assert checker.main(["--src", str(src), "--allowlist", str(allowlist)]) == 1
    allowlist.write_text(
        "# known\nattr pkg.late.Round.shares\nattr pkg.late.Round.late\nlines pkg.gone\n"
    )
    assert checker.main(["--src", str(src), "--allowlist", str(allowlist)]) == 0
    assert "'lines pkg.gone' no longer occurs" in capsys.readouterr().out


def test_the_scheduling_core_keeps_the_structure_rules(checker: ModuleType) -> None:
    found = checker.violations(ROOT / "src" / "armada")
    allowed = checker.read_allowlist(checker.DEFAULT_ALLOWLIST)
    here = [key for key in found if "armada.scheduling." in key and key not in allowed]
    assert here == []
