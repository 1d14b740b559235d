"""Serving the built UI: its pages answer index.html, its assets are cached for good, and any
other path is a JSON 404 (an unknown API route above all)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from armada.lookout.ui_files import ui_routes

PAGE = "<!doctype html><title>Lookout</title><script src=/assets/app-1a2b.js></script>"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets" / "app-1a2b.js").write_text("console.log('hi')")
    (tmp_path / "robots.txt").write_text("User-agent: *\n")
    return tmp_path


def client_for(folder: Path) -> TestClient:
    return TestClient(Starlette(routes=ui_routes(folder)))


@pytest.mark.parametrize("path", ["/", "/jobs", "/jobs/", "/jobs/01abc", "/queues", "/queues/"])
def test_the_apps_pages_answer_the_page(build: Path, path: str) -> None:
    reply = client_for(build).get(path)
    assert reply.status_code == 200
    assert reply.text == PAGE
    assert reply.headers["cache-control"] == "no-cache"


def test_assets_are_cached_for_good(build: Path) -> None:
    reply = client_for(build).get("/assets/app-1a2b.js")
    assert reply.status_code == 200
    assert reply.text == "console.log('hi')"
    assert "immutable" in reply.headers["cache-control"]
    assert client_for(build).get("/assets/gone-9z.js").status_code == 404


def test_a_top_level_file_of_the_build_is_served(build: Path) -> None:
    assert client_for(build).get("/robots.txt").text == "User-agent: *\n"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/nothing"),
        ("POST", "/api/v1/nothing"),
        ("GET", "/v1/nothing"),
        ("POST", "/jobs"),
        ("GET", "/jobs/a/b"),
        ("GET", "/favicon.ico"),
        ("GET", "/../../etc/passwd"),
    ],
)
def test_other_paths_are_a_json_404(build: Path, method: str, path: str) -> None:
    reply = client_for(build).request(method, path)
    assert reply.status_code == 404
    assert reply.json()["error"].startswith("no route")


def test_before_the_ui_is_built_its_pages_say_how_to_build_it(tmp_path: Path) -> None:
    client = client_for(tmp_path / "ui_build")
    reply = client.get("/jobs")
    assert reply.status_code == 503
    assert "make ui" in reply.text
    assert client.get("/assets/app.js").status_code == 404
    assert client.get("/api/v1/jobs").status_code == 404
