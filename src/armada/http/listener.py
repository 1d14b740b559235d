"""Serving an ASGI application with uvicorn, inside the process's own asyncio loop.

The socket is bound here, before uvicorn starts, so that a port in use is an ``OSError``
naming the address (and port 0 gives the port actually chosen). uvicorn's own signal
handling is left out: the process's ``armada`` command owns SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import cast

import uvicorn
from starlette.types import ASGIApp

from armada.config.http import HttpSettings
from armada.security.tls import uvicorn_ssl_options
from armada.waiting import wait_until_async

START_TIMEOUT = 30.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpListener:
    """One HTTP server: ``address`` is where it listens once started."""

    def __init__(
        self, server: uvicorn.Server, sock: socket.socket, host: str, tls: bool = False
    ) -> None:
        self._server = server
        self._socket = sock
        port = sock.getsockname()[1]
        self.address = f"{host}:{port}"
        self.tls = tls
        self._task: asyncio.Task[None] | None = None

    @property
    def app(self) -> ASGIApp:
        """The application served (its routes, for tests and documents)."""
        return cast(ASGIApp, self._server.config.app)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="http")
        task = self._task
        await wait_until_async(
            lambda: self._server.started or task.done(),
            timeout=START_TIMEOUT,
            what=f"the HTTP side on {self.address} to start",
        )
        if task.done():
            task.result()  # raises what stopped it
            raise OSError(f"the HTTP side on {self.address} stopped at start")

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._socket.close()


def _bind(settings: HttpSettings) -> socket.socket:
    try:
        return socket.create_server((settings.host, settings.port), backlog=1024)
    except OSError as exc:
        raise OSError(f"could not listen on {settings.address} (http): {exc.strerror}") from None


async def start_http(settings: HttpSettings, app: ASGIApp) -> HttpListener:
    """Bind ``settings``' address and serve ``app`` there. Raises OSError naming the address
    when it cannot be listened on."""
    ssl = uvicorn_ssl_options(settings.tls)
    sock = _bind(settings)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
        **ssl,
    )
    listener = HttpListener(_Server(config), sock, settings.host, tls=bool(ssl))
    try:
        await listener.start()
    except BaseException:
        sock.close()
        raise
    return listener
