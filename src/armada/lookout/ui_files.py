"""The web UI's files, served by ``armada lookout`` and ``armada dev``.

The UI is a single-page app built by ``make ui`` (Vite, from ``web/``) into ``ui_build`` beside
this module; the build is never committed. The app's own pages (``/``, ``/jobs``,
``/jobs/<id>``, ``/queues``) answer ``index.html``, so a shared link or a reload on any page
works: the app routes in the browser. Any other path is one of the build's files or a JSON 404
(an unknown API route above all).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

UI_BUILD = Path(__file__).parent / "ui_build"

# Vite names every asset after its content: a browser may keep them for good.
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
# The page names the assets of the current build: it is asked for again each time.
_REVALIDATE = {"Cache-Control": "no-cache"}
# The paths the app routes in the browser (web/src/main.tsx).
APP_PAGES = re.compile(r"^/(jobs(/[^/]+)?|queues)?/?$")

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lookout</title>
</head><body><h1>The web UI has not been built</h1><p>Run <code>make ui</code> (or
<code>make install</code>) in the project's checkout, then reload this page. The Lookout API
answers under <code>/api/v1/</code> meanwhile.</p></body></html>"""


class UiFiles:
    """An ASGI app: the built UI's files, and ``index.html`` for the app's own paths."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._assets = StaticFiles(directory=folder / "assets", check_dir=False)

    @property
    def built(self) -> bool:
        return (self.folder / "index.html").is_file()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        response = await self._respond(scope, receive, send)
        if response is not None:
            await response(scope, receive, send)

    async def _respond(self, scope: Scope, receive: Receive, send: Send) -> Response | None:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            return _not_found(scope)
        if not self.built:
            if APP_PAGES.match(path):
                return HTMLResponse(NOT_BUILT, status_code=503)
            return _not_found(scope)
        if path.startswith("/assets/"):
            inner = dict(scope, path=path[len("/assets") :], root_path="")
            wrapped = _with_headers(send, _IMMUTABLE)
            await self._assets(inner, receive, wrapped)
            return None
        if APP_PAGES.match(path):
            return FileResponse(self.folder / "index.html", headers=_REVALIDATE)
        top_level = self._top_level_file(path)
        if top_level is not None:
            return FileResponse(top_level, headers=_REVALIDATE)
        return _not_found(scope)

    def _top_level_file(self, path: str) -> Path | None:
        name = path.lstrip("/")
        if not name or "/" in name:
            return None
        candidate = self.folder / name
        return candidate if candidate.is_file() else None


def _not_found(scope: Scope) -> Response:
    return JSONResponse({"error": f"no route {scope['method']} {scope['path']}"}, 404)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message.get("status") == 200:
            raw = list(Headers(raw=message.get("headers", [])).raw)
            raw.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
            message = dict(message, headers=raw)
        await send(message)

    return sending


def ui_routes(folder: Path = UI_BUILD) -> list[BaseRoute]:
    """The UI under ``/``: add these after every API route (they answer all other paths)."""
    return [Mount("/", app=UiFiles(folder))]
