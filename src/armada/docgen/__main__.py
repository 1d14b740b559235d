"""``python -m armada.docgen [ROOT]``: rewrite the generated tables of every page under ROOT
(the repository's root; the current directory by default)."""

from __future__ import annotations

import sys
from pathlib import Path

from armada.docgen.pages import PAGES
from armada.docgen.tables import refresh


def main(argv: list[str]) -> None:
    root = Path(argv[0] if argv else ".")
    for relative, tables in PAGES.items():
        page = root / relative
        page.write_text(refresh(page.read_text(), tables))


if __name__ == "__main__":
    main(sys.argv[1:])
