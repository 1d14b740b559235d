"""armadactl starts without importing what only some commands use: `submit` of a large file is
timed by its users from the shell, start-up included."""

from __future__ import annotations

import subprocess
import sys

LOADED = (
    "import sys, armada.cli.armadactl.main\n"
    "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in {'rich'}}))"
)


def test_starting_armadactl_does_not_import_rich() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
