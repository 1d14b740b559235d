"""Job files: Armada's YAML format read into JobSubmitRequestItems, with errors that give the
line and name the field."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from armada.client import FileError, message_to_document, parse_job_file
from tests.cli.conftest import job_file_text

SEED_EXAMPLE = """\
queue: test
jobSetId: set1
jobs:
  - priority: 0
    podSpecs:
      - terminationGracePeriodSeconds: 0
        restartPolicy: Never
        containers:
          - name: sleep
            imagePullPolicy: IfNotPresent
            image: busybox:latest
            args:
              - sleep
              - 60s
            resources:
              limits:
                memory: 64Mi
                cpu: 150m
              requests:
                memory: 64Mi
                cpu: 150m
"""


def error_of(text: str) -> FileError:
    with pytest.raises(FileError) as caught:
        parse_job_file(text, path="jobs.yaml")
    return caught.value


def test_armadas_documented_example_is_read() -> None:
    jobs = parse_job_file(SEED_EXAMPLE)
    assert (jobs.queue, jobs.job_set_id, len(jobs.items)) == ("test", "set1", 1)
    item = jobs.items[0]
    container = item.pod_specs[0].containers[0]
    assert container.args == ["sleep", "60s"]
    assert container.resources.limits["memory"].string == "64Mi"
    assert item.pod_specs[0].terminationGracePeriodSeconds == 0
    assert item.namespace == "default"  # defaulted: the example gives none


def test_every_item_field_is_read() -> None:
    text = job_file_text() + (
        "    clientId: c-1\n"
        "    labels: {team: a}\n"
        "    annotations: {armadaproject.io/gangId: g}\n"
        "    scheduler: other\n"
        "    externalJobUri: http://x\n"
        "    ingress: [{ports: [8080], tlsEnabled: true, certName: c}]\n"
        "    services: [{type: Headless, ports: [8080], name: svc}]\n"
    )
    item = parse_job_file(text).items[0]
    assert item.client_id == "c-1"
    assert dict(item.labels) == {"team": "a"}
    assert dict(item.annotations) == {"armadaproject.io/gangId": "g"}
    assert (item.scheduler, item.external_job_uri) == ("other", "http://x")
    assert list(item.ingress[0].ports) == [8080] and item.ingress[0].tls_enabled
    assert item.services[0].type == 1 and item.services[0].name == "svc"


def test_kubernetes_special_types_and_inline_fields() -> None:
    text = (
        job_file_text()
        .replace(
            '          args: [sleep, "1"]\n',
            '          args: [sleep, "1"]\n'
            "          readinessProbe: {httpGet: {port: http, path: /}}\n"
            "          livenessProbe: {tcpSocket: {port: 8080}}\n"
            "          volumeMounts: [{name: scratch, mountPath: /tmp}]\n",
        )
        .replace(
            "      restartPolicy: Never\n",
            "      restartPolicy: Never\n"
            "      volumes: [{name: scratch, emptyDir: {sizeLimit: 1Gi}},"
            " {name: settings, configMap: {name: settings}}]\n",
        )
    )
    spec = parse_job_file(text).items[0].pod_spec
    container = spec.containers[0]
    assert container.readinessProbe.handler.httpGet.port.strVal == "http"
    assert container.livenessProbe.handler.tcpSocket.port.intVal == 8080
    assert spec.volumes[0].volumeSource.emptyDir.sizeLimit.string == "1Gi"
    assert spec.volumes[1].volumeSource.configMap.localObjectReference.name == "settings"
    document = message_to_document(spec)
    assert document["volumes"] == [
        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
        {"name": "settings", "configMap": {"name": "settings"}},
    ]
    assert document["containers"][0]["readinessProbe"] == {"httpGet": {"path": "/", "port": "http"}}


def test_numbers_as_quantities() -> None:
    text = job_file_text().replace("{cpu: 150m, memory: 64Mi}", "{cpu: 1.5, memory: 1024}")
    limits = parse_job_file(text).items[0].pod_spec.containers[0].resources.limits
    assert (limits["cpu"].string, limits["memory"].string) == ("1.5", "1024")


def test_keys_match_case_insensitively_like_gos_json_decoder() -> None:
    item = parse_job_file(job_file_text().replace("jobSetId", "JobSetID")).items[0]
    assert item.pod_spec.containers


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            ("image:", "imag:"),
            10,
            "jobs[0].podSpec.containers[0]: unknown field 'imag' (did you mean 'image'?)",
        ),
        (("priority: 0", "priorty: 0"), 4, "jobs[0]: unknown field 'priorty'"),
        (("queue:", "queues:"), 1, "unknown field 'queues'"),
        (("cpu: 150m, memory", "cpu: lots, memory"), 13, "'lots' is not a resource quantity"),
        (('[sleep, "1"]', "[sleep, 1]"), 11, "args[1]: expected a string, got the number 1"),
        (("priority: 0", "priority: high"), 4, "jobs[0].priority: expected a number"),
        (("restartPolicy: Never", "restartPolicy: [Never]"), 7, "expected a string, got a list"),
        (("containers:", "containers: 3\n      x:"), 8, "expected a list, got the number 3"),
    ],
)
def test_mistakes_name_the_line_and_the_field(
    change: tuple[str, str], line: int, message: str
) -> None:
    error = error_of(job_file_text().replace(*change, 1))
    assert error.line == line
    assert message in error.message
    assert str(error).startswith(f"jobs.yaml:{line}: ")
    assert "\n" not in str(error)


def test_invalid_yaml_gives_the_line() -> None:
    error = error_of("queue: q\njobSetId: s\njobs:\n  - priority: [1\n  - x: y\n")
    assert error.line is not None and error.line >= 4
    assert error.message.startswith("invalid YAML")


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_job_files_are_read_by_libyaml_and_mistakes_still_name_their_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyYAML's pure-Python scanner takes seconds on a 10,000-job file (bench.submit_armadactl);
    libyaml's parser gives the same lines."""

    def pure_python_scanner(*args: object) -> None:
        raise AssertionError("the pure-Python YAML scanner was used")

    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", pure_python_scanner)
    text = job_file_text(jobs=50)
    assert len(parse_job_file(text).items) == 50
    lines = text.splitlines(keepends=True)
    index = len(lines) - 2  # the last job's `requests:`, on line len(lines) - 1
    assert "requests" in lines[index]
    lines[index] = lines[index].replace("150m", "lots")
    error = error_of("".join(lines))
    assert error.line == len(lines) - 1
    assert "jobs[49].podSpec.containers[0].resources.requests[cpu]" in error.message
    broken = error_of(text + "  - priority: [1\n")
    assert broken.line is not None and broken.line >= len(lines) + 1


ANCHORED = job_file_text(queue="q", job_set="s").replace(
    "    podSpec:\n", "    podSpec: &pod\n"
) + ("  - priority: 2\n    podSpec:\n      <<: *pod\n      restartPolicy: OnFailure\n")


def test_top_level_keys_in_any_case_give_the_same_jobs() -> None:
    text = job_file_text(jobs=2)
    shouted = text.replace("jobs:\n", "JOBS:\n").replace("jobSetId:", "JobSetID:")
    assert parse_job_file(shouted).items == parse_job_file(text).items
    assert "jobs[1].priority" in error_of(shouted.replace("priority: 1", "priority: x")).message


def test_anchors_aliases_and_merge_keys_read_as_pyyaml_reads_them() -> None:
    """The fast reader leaves these to PyYAML's loader: same values, same lines."""
    first, second = parse_job_file(ANCHORED).items
    assert first.pod_spec.containers == second.pod_spec.containers
    assert (first.pod_spec.restartPolicy, second.pod_spec.restartPolicy) == ("Never", "OnFailure")
    assert first.pod_spec.containers[0].resources.limits["cpu"].string == "150m"
    error = error_of(ANCHORED.replace("restartPolicy: OnFailure", "restartPolicy: [x]"))
    assert error.line == 18
    assert "jobs[1].podSpec.restartPolicy: expected a string" in error.message
    plain = error_of(ANCHORED.replace("priority: 2", "priority: two"))
    assert plain.line == 15 and "jobs[1].priority" in plain.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobSetId: s\njobs: []\n", "queue: missing"),
        ("queue: q\njobSetId: s\njobs: []\n", "jobs: expected a list of at least one job"),
        ("queue: q\njobSetId: s\njobs:\n  - priority: 1\n", "jobs[0]: no podSpec"),
        ("- a\n- b\n", "expected a mapping with queue, jobSetId and jobs"),
        ("queue: q\njobSetId: s\nqueue: r\njobs: []\n", "duplicate key 'queue'"),
        ("", "expected one YAML document, found 0"),
    ],
)
def test_structural_mistakes(text: str, message: str) -> None:
    assert message in error_of(text).message


def test_one_pod_per_job() -> None:
    spec = "      - restartPolicy: Never\n        containers: [{name: a, image: busybox}]\n"
    text = "queue: q\njobSetId: s\njobs:\n  - podSpecs:\n" + spec + spec
    assert "2 pod specs; jobs with multiple pods are not supported" in error_of(text).message
    no_containers = "queue: q\njobSetId: s\njobs:\n  - podSpec: {restartPolicy: Never}\n"
    assert "the pod spec has no containers" in error_of(no_containers).message


def test_duplicate_pod_spec_forms_are_refused() -> None:
    text = job_file_text() + "    podSpecs: []\n"
    text = text.replace("podSpecs: []", "podSpecs:\n      - containers: [{name: x}]")
    assert "give podSpec or podSpecs, not both" in error_of(text).message


@given(
    priority=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    labels=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9./-]{0,12}", fullmatch=True),
        st.text(min_size=1, max_size=10),
        max_size=3,
    ),
    cpu=st.sampled_from(["100m", "1", "2500m", "0.5"]),
    memory=st.sampled_from(["64Mi", "1Gi", "1000", "3G"]),
)
def test_what_is_printed_reads_back_the_same(
    priority: float, labels: dict[str, str], cpu: str, memory: str
) -> None:
    text = job_file_text().replace("priority: 0", f"priority: {priority!r}")
    text = text.replace("{cpu: 150m, memory: 64Mi}", f"{{cpu: '{cpu}', memory: '{memory}'}}")
    jobs = parse_job_file(text)
    jobs.items[0].labels.update(labels)
    again = parse_job_file(yaml.safe_dump(jobs.to_document()))
    assert again.items == jobs.items
