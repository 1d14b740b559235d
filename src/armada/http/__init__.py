"""Every process's HTTP side, beside its gRPC one and on the same asyncio loop.

``build_app`` makes the ASGI application (``/metrics``, ``/healthz``, ``/readyz`` and whatever
routes a component adds: the REST gateway, the Lookout API, the UI's files); ``HttpListener``
serves it with uvicorn on a socket this process binds itself.
"""

from armada.http.app import HttpParts, ReadinessCheck, build_app
from armada.http.listener import HttpListener, start_http

__all__ = ["HttpListener", "HttpParts", "ReadinessCheck", "build_app", "start_http"]
