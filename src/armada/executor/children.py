"""Child processes that any event loop can await: no watcher threads, no fork handlers.

``asyncio.create_subprocess_exec`` is slow on the default loop (a thread per child) and, on
uvloop, forks with ``fork()``, which runs gRPC's fork handlers in a process that also serves
gRPC: that can abort the process. Here a child is started by ``subprocess.Popen`` (CPython
uses ``vfork``, which runs no fork handlers; ``os.posix_spawn`` would hold the GIL throughout)
and awaited through a pidfd the loop watches (Linux ≥ 5.3), falling back to a thread where
pidfds are missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence


class Child:
    """A started process; :meth:`wait` resolves to its return code (negative: a signal)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        loop = asyncio.get_running_loop()
        self._done: asyncio.Future[int] = loop.create_future()
        try:
            fd = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            waiter = loop.run_in_executor(None, popen.wait)
            waiter.add_done_callback(lambda f: self._finish(f.result()))
            return
        loop.add_reader(fd, self._reap, loop, fd)

    def _reap(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        loop.remove_reader(fd)
        os.close(fd)
        self._finish(self._popen.wait())

    def _finish(self, code: int) -> None:
        if not self._done.done():
            self._done.set_result(code)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._done)


def start(argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, its input and output nowhere. Safe in any thread: the
    process backend starts containers off the event loop (CPython releases the GIL while it
    forks and the child execs), and wraps what it started in a :class:`Child` on the loop."""
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )
