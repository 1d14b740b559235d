"""On a terminal, ``armadactl watch`` rewrites its summary in place as events arrive (run in a
real pseudo-terminal, so that armadactl sees a TTY exactly as in a shell)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from armada_client.armada import submit_pb2

from armada.client import Client, parse_job_file
from armada.dev.embedded import EmbeddedArmada
from armada.waiting import wait_until
from tests.cli.conftest import job_file_text

ARMADACTL = str(Path(sys.executable).with_name("armadactl"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A pseudo-terminal whose output is collected on a thread."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.raw = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the other side closed
                return
            if not chunk:
                return
            with self._lock:
                self.raw += chunk

    @property
    def text(self) -> str:
        with self._lock:
            return self.raw.decode(errors="replace")

    def plain(self) -> str:
        return ANSI.sub("", self.text)

    def wait_to_show(self, pattern: str, timeout: float = 20) -> None:
        try:
            wait_until(lambda: re.search(pattern, self.plain()), timeout, what=repr(pattern))
        except AssertionError as exc:
            raise AssertionError(f"{exc}, never shown:\n{self.plain()}") from None

    def close(self) -> None:
        """Collect what is left to read, then close our end. Once the program has exited and
        nobody holds the other end, the reader reads the rest, then gets an error and stops."""
        self._reader.join(timeout=10)
        assert not self._reader.is_alive(), "the terminal's output never ended"
        os.close(self.master)


def test_the_summary_is_rewritten_in_place(armada: EmbeddedArmada, api: Client) -> None:
    api.create_queue(submit_pb2.Queue(name="queue-a", priority_factor=1))
    terminal = Terminal()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [
            ARMADACTL,
            "--armadaUrl",
            armada.address,
            "watch",
            "queue-a",
            "set-1",
            "--exit-if-inactive",
        ],
        stdin=terminal.slave,
        stdout=terminal.slave,
        stderr=terminal.slave,
        env=env,
    )
    os.close(terminal.slave)
    try:
        terminal.wait_to_show(r"waiting for events")
        jobs = parse_job_file(job_file_text(jobs=2))
        ids = api.submit_jobs("queue-a", "set-1", jobs.items)
        terminal.wait_to_show(r"Queued: 2 ")
        shown_queued = terminal.raw
        api.cancel_jobs("queue-a", "set-1")
        terminal.wait_to_show(r"Cancelled: 2 ")
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        terminal.close()

    plain = terminal.plain()
    # The header is printed once; the summary is redrawn, not appended line after line.
    assert plain.count("Watching job set set-1 of queue queue-a") == 1
    assert "\x1b[2K" in terminal.text and ("\x1b[1A" in terminal.text or "\x1b[A" in terminal.text)
    redraws = plain.count("latest:")
    assert redraws >= 3  # waiting, queued, cancelled (at least)
    later = terminal.raw[len(shown_queued) :].decode(errors="replace")
    assert "\x1b[2K" in later  # the cancelled counts overwrite the queued ones
    final = plain.rsplit("Queued:", 1)[1]
    assert re.search(r"Cancelled: 2 ", final) and "(jobs: 2)" in final
    assert ids[1] in final  # the latest event is shown
    # Colour on a terminal: the non-zero counts are styled.
    assert re.search(r"\x1b\[[0-9;]*m2", terminal.text)
