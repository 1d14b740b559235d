"""The HTTP side of the fake Kubernetes API server (see :mod:`tests.executor.fake_kube_api`).

Routes the API paths the executor uses to the fake's store, speaks HTTP/1.1 with keep-alive,
and streams watches as chunked JSON lines, as the real API server does.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.executor.fake_kube_api import status_body

if TYPE_CHECKING:
    from tests.executor.fake_kube_api import FakeKubeApi

_ROUTE = re.compile(
    r"^/(?:api/v1|apis/networking\.k8s\.io/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>pods|services|events|nodes|ingresses)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>log))?$"
)

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
_TOKEN_REQUEST = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<name>[^/]+)/token$"
)


class KubeApiHandler(BaseHTTPRequestHandler):
    fake: FakeKubeApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _route(self) -> tuple[re.Match[str] | None, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.fake.requests.append((self.command, parts.path))
        return _ROUTE.match(parts.path), query

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _send(self, code: int, body: dict[str, Any] | str) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(code)
        self.send_header(
            "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(
            404, status_body(404, "NotFound", "the server could not find the requested resource")
        )

    def do_GET(self) -> None:
        match, query = self._route()
        if match is None:
            return self._not_found()
        plural, namespace, name = match["plural"], match["ns"], match["name"]
        if match["sub"] == "log":
            code, body = self.fake.log_text(namespace or "", name or "", query)
            return self._send(code, body)
        if name:
            obj = self.fake.get(plural, namespace or "", name)
            if obj is None:
                return self._send(
                    404,
                    status_body(
                        404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural
                    ),
                )
            return self._send(200, obj)
        if query.get("watch") in ("true", "1", "True"):
            return self._stream(self.fake.watch_lines(plural, namespace, query))
        return self._send(200, self.fake.list_body(plural, namespace, query))

    def _stream(self, lines: Any) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for line in lines:
                data = (line + "\n").encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == TOKEN_REVIEWS:
            self.fake.requests.append((self.command, TOKEN_REVIEWS))
            code, body = self.fake.token_reviews.answer(
                self._body(), self.headers.get("Authorization")
            )
            self._send(code, body)
            return
        wanted = _TOKEN_REQUEST.match(path)
        if wanted is not None:
            self.fake.requests.append((self.command, path))
            code, body = self.fake.token_reviews.request_token(
                wanted["ns"], wanted["name"], self._body(), self.headers.get("Authorization")
            )
            self._send(code, body)
            return
        match, _ = self._route()
        if match is None or match["name"] or not match["ns"]:
            self._not_found()
            return
        code, body = self.fake.create(match["plural"], match["ns"], self._body())
        self._send(code, body)

    def do_DELETE(self) -> None:
        match, query = self._route()
        if match is None or not match["name"]:
            self._not_found()
            return
        options = self._body()
        grace = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        code, body = self.fake.delete(
            match["plural"], match["ns"] or "", match["name"], None if grace is None else int(grace)
        )
        self._send(code, body)
