"""Child processes that any event loop can await: no watcher threads, no fork handlers.

``asyncio.create_subprocess_exec`` is slow on the default loop (a thread per child) and, on
uvloop, forks with ``fork()``, which runs gRPC's fork handlers in a process that also serves
gRPC: that can abort the process. Here a child is started by ``subprocess.Popen`` (CPython
uses ``vfork``, which runs no fork handlers) and awaited through a pidfd the loop watches
(Linux ≥ 5.3), falling back to a thread where pidfds are missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


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


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    output: Path | int,
    stdin: int = subprocess.DEVNULL,
) -> Child:
    """Start ``argv`` in a new session, stdout and stderr appended to ``output`` (a path, or an
    open descriptor such as a pipe's write end)."""
    if isinstance(output, int):
        return Child(_popen(argv, env, cwd, output, stdin))
    with open(output, "ab") as out:
        return Child(_popen(argv, env, cwd, out.fileno(), stdin))


def _popen(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, out: int, stdin: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=out,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )
