"""The web UI's files, served by ``armada lookout`` and ``armada dev``.

The UI is a single-page app built by ``make ui`` (Vite, from ``web/``) into ``ui_build`` beside
this module; the build is never committed. Every path that is not one of its files answers
``index.html``, so a link to ``/jobs/<id>`` or a reload on any page works: the app routes in
the browser. Paths under the APIs (``/api/``, ``/v1/``) are never answered with the page: an
unknown API route is a JSON 404.
"""

from __future__ import annotations

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
_API_PREFIXES = ("/api/", "/v1/")

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
        if scope["method"] not in ("GET", "HEAD") or path.startswith(_API_PREFIXES):
            return JSONResponse({"error": f"no route {scope['method']} {path}"}, 404)
        if path.startswith("/assets/"):
            inner = dict(scope, path=path[len("/assets") :], root_path="")
            wrapped = _with_headers(send, _IMMUTABLE)
            await self._assets(inner, receive, wrapped)
            return None
        if not self.built:
            return HTMLResponse(NOT_BUILT, status_code=503)
        top_level = self._top_level_file(path)
        if top_level is not None:
            return FileResponse(top_level, headers=_REVALIDATE)
        if "." in path.rsplit("/", 1)[-1]:
            # A file name the build does not have: not one of the app's pages.
            return JSONResponse({"error": f"no file {path}"}, 404)
        return FileResponse(self.folder / "index.html", headers=_REVALIDATE)

    def _top_level_file(self, path: str) -> Path | None:
        name = path.lstrip("/")
        if not name or "/" in name:
            return None
        candidate = self.folder / name
        return candidate if candidate.is_file() else None


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
