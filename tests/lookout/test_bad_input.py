"""Bad input on every HTTP route: a 4xx with a JSON error that says what is wrong, and
nothing stored (the log does not grow)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from google.protobuf.descriptor import FieldDescriptor

from armada.dev.embedded import EmbeddedArmada
from armada.lookout.api.openapi_paths import LOOKOUT_PATHS
from armada.lookout.gateway import Rule, http_rules
from tests.lookout.conftest import MAX_BODY, create_queue

RULES = http_rules()
LOOKOUT_POSTS = [path for path, ops in LOOKOUT_PATHS.items() if "post" in ops]


def concrete(rule: Rule) -> str:
    return rule.path.replace("{queue}", "queue-a").replace("{id}", "s").replace("{name}", "x")


@pytest.fixture
def unchanged(armada: EmbeddedArmada, http: httpx2.Client) -> Iterator[None]:
    """The test's requests must store nothing: the log's head is the same after them."""
    create_queue(http)
    log = armada.system.storage.log
    before = log.head()
    yield
    assert log.head() == before, "a refused request appended to the log"


def gateway_error(response: httpx2.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert words in body["message"], body["message"]


def first_string_field(rule: Rule) -> FieldDescriptor | None:
    for field in rule.request.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            return field
    return None


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.verb} {r.path}")
@pytest.mark.usefixtures("unchanged")
def test_gateway_routes_refuse_bad_input(http: httpx2.Client, rule: Rule) -> None:
    path = concrete(rule)
    if rule.body != "*":
        unknown = http.request(rule.verb, path, params={"noSuchField": "1"})
        gateway_error(unknown, 400, "unknown query parameter 'noSuchField'")
        with_body = http.request(rule.verb, path, content=b'{"a": 1}')
        gateway_error(with_body, 400, "takes no body")
        return
    unknown = http.request(rule.verb, path, json={"noSuchField": 1})
    gateway_error(unknown, 400, "noSuchField")
    gateway_error(http.request(rule.verb, path, json=[1, 2]), 400, "invalid request body")
    gateway_error(http.request(rule.verb, path, content=b"{not json"), 400, "invalid request body")
    bad_utf8 = http.request(rule.verb, path, content=b'{"queue": "\xff\xfe"}')
    gateway_error(bad_utf8, 400, "not valid UTF-8")
    huge = http.request(rule.verb, path, content=b" " * (MAX_BODY + 1))
    gateway_error(huge, 413, f"larger than {MAX_BODY} bytes")
    field = first_string_field(rule)
    if field is not None:
        wrong = http.request(rule.verb, path, json={field.json_name: 12})
        gateway_error(wrong, 400, f"Failed to parse {field.json_name} field")


def lookout_error(response: httpx2.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert words in body["error"], body["error"]


@pytest.mark.parametrize("path", LOOKOUT_POSTS)
@pytest.mark.usefixtures("unchanged")
def test_lookout_routes_refuse_bad_input(http: httpx2.Client, path: str) -> None:
    lookout_error(http.post(path, json={"noSuchField": 1}), 400, "noSuchField")
    lookout_error(http.post(path, json=[1]), 400, "Expected `object`")
    lookout_error(http.post(path, content=b"{not json"), 400, "not valid JSON")
    lookout_error(http.post(path, content=b'{"jobId": "\xff"}'), 400, "UTF-8")
    lookout_error(http.post(path, content=b" " * (2 << 20)), 413, "larger than")


@pytest.mark.usefixtures("unchanged")
def test_lookout_filters_are_checked(http: httpx2.Client) -> None:
    def jobs(*filters: object, **more: object) -> httpx2.Response:
        return http.post("/api/v1/jobs", json={"filters": list(filters), **more})

    lookout_error(jobs({"field": "colour", "match": "exact", "value": "red"}), 400, "'colour'")
    lookout_error(jobs({"field": "queue", "match": "like", "value": "a"}), 400, "'like'")
    lookout_error(jobs({"field": "cpu", "match": "exact", "value": "a"}), 400, "a number")
    lookout_error(jobs({"field": "state", "match": "exact", "value": "DONE"}), 400, "job state")
    lookout_error(jobs({"field": "submitted", "match": "exact", "value": "x"}), 400, "exact")
    lookout_error(jobs({"field": "submitted", "match": "lessThan", "value": "x"}), 400, "RFC 3339")
    lookout_error(jobs({"field": "queue", "match": "anyOf", "value": "a"}), 400, "list")
    lookout_error(jobs({"field": "queue", "match": "exact"}), 400, "string")
    lookout_error(jobs({"field": "k", "match": "anyOf", "isAnnotation": True}), 400, "annotations")
    lookout_error(jobs(order={"field": "owner", "direction": "ASC"}), 400, "order by")
    lookout_error(jobs(order={"field": "queue", "direction": "UP"}), 400, "ASC or DESC")
    lookout_error(jobs(take=-1), 400, "negative")
    groups = http.post("/api/v1/jobGroups", json={"groupedField": {"field": "cpu"}})
    lookout_error(groups, 400, "cannot group by field cpu")
    aggregate = http.post(
        "/api/v1/jobGroups", json={"groupedField": {"field": "queue"}, "aggregates": ["cpu"]}
    )
    lookout_error(aggregate, 400, "cpu cannot be aggregated")
    missing = http.post("/api/v1/jobGroups", json={"filters": []})
    lookout_error(missing, 400, "groupedField")
    lookout_error(http.post("/api/v1/jobSpec", json={"jobId": "nope"}), 404, "does not exist")
