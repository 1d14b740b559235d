"""Queues and retry policies through armadactl: flags, files, selection, cordoning."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from armada_client.armada import submit_pb2

from armada.client import Client
from tests.cli.conftest import Armadactl, write

QUEUES_FILE = """\
apiVersion: armadaproject.io/v1beta1
kind: Queue
name: team-a
priorityFactor: 2
labels: {team: a}
permissions:
  - subjects: [{kind: Group, name: team-a}]
    verbs: [submit, cancel, watch]
---
apiVersion: armadaproject.io/v1beta1
kind: RetryPolicy
name: oom-retry
retryLimit: 3
defaultAction: Fail
rules:
  - action: Retry
    onCategory: oom
    mutate: {resources: {memory: {factor: 1.5}}}
"""


def test_create_get_update_delete_queue(armadactl: Armadactl, api: Client) -> None:
    result = armadactl(
        "create", "queue", "team-a", "--priority-factor", "2", "--owners", "alice,bob",
        "--group-owners", "ops", "-l", "team=a", "-l", "tier=gold", "--cordon",
    )  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "Created queue team-a\n")
    queue = api.get_queue("team-a")
    assert (queue.priority_factor, list(queue.user_owners), list(queue.group_owners)) == (
        2.0,
        ["alice", "bob"],
        ["ops"],
    )
    assert dict(queue.labels) == {"team": "a", "tier": "gold"} and queue.cordoned
    document = yaml.safe_load(armadactl("get", "queue", "team-a").stdout)
    assert document["kind"] == "Queue" and document["userOwners"] == ["alice", "bob"]
    # Armada's older flag spelling still works; unspecified settings are kept.
    assert armadactl("update", "queue", "team-a", "--priorityFactor", "3").exit_code == 0
    queue = api.get_queue("team-a")
    assert queue.priority_factor == 3.0 and list(queue.user_owners) == ["alice", "bob"]
    assert armadactl("update", "queue", "team-a", "--uncordon").exit_code == 0
    assert not api.get_queue("team-a").cordoned
    assert armadactl("delete", "queue", "team-a").stdout == "Deleted queue team-a\n"
    gone = armadactl("get", "queue", "team-a")
    assert (gone.exit_code, gone.stderr) == (1, "Error: queue 'team-a' does not exist\n")


def test_queue_retry_policies(armadactl: Armadactl, api: Client, tmp_path: Path) -> None:
    for name in ("oom-retry", "node-retry", "last-resort"):
        text = QUEUES_FILE.split("---\n")[1].replace("oom-retry", name)
        policy = write(tmp_path / f"{name}.yaml", text)
        assert armadactl("create", "retry-policy", "-f", str(policy)).exit_code == 0
    result = armadactl(
        "create", "queue", "team-a", "--retry-policies", "oom-retry,node-retry",
        "--retry-policies", "last-resort",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(api.get_queue("team-a").retry_policies) == [
        "oom-retry",
        "node-retry",
        "last-resort",
    ]  # in precedence order, as given
    assert "oom-retry,node-retry,last-resort" in armadactl("get", "queues").stdout
    assert armadactl("update", "queue", "team-a", "--retry-policies", "node-retry").exit_code == 0
    assert list(api.get_queue("team-a").retry_policies) == ["node-retry"]
    assert armadactl("update", "queue", "team-a", "--priority-factor", "2").exit_code == 0
    assert list(api.get_queue("team-a").retry_policies) == ["node-retry"]  # kept


def test_queue_errors(armadactl: Armadactl, api: Client) -> None:
    assert armadactl("create", "queue", "a").exit_code == 0
    exists = armadactl("create", "queue", "a")
    assert (exists.exit_code, exists.stderr) == (1, "Error: queue 'a' already exists\n")
    zero = armadactl("create", "queue", "b", "--priority-factor", "0")
    assert zero.exit_code == 1 and "priority_factor must be greater than 0" in zero.stderr
    label = armadactl("create", "queue", "b", "-l", "nolabel")
    assert label.exit_code == 2 and "label 'nolabel' is not key=value" in label.stderr
    missing = armadactl("update", "queue", "nope", "--priority-factor", "2")
    assert missing.exit_code == 1 and "'nope' does not exist" in missing.stderr


def make_queues(api: Client) -> None:
    for name, labels, cordoned in [
        ("a", {"team": "x"}, False),
        ("b", {"team": "x", "tier": "gold"}, True),
        ("c", {"team": "y"}, False),
    ]:
        api.create_queue(
            submit_pb2.Queue(name=name, priority_factor=1, labels=labels, cordoned=cordoned)
        )


def names(armadactl: Armadactl, *args: str) -> list[str]:
    result = armadactl("get", "queues", *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return [q["name"] for q in json.loads(result.stdout)]


def test_get_queues_selection(armadactl: Armadactl, api: Client) -> None:
    make_queues(api)
    assert names(armadactl) == ["a", "b", "c"]
    assert names(armadactl, "a", "c") == ["a", "c"]
    assert names(armadactl, "-l", "team=x") == ["a", "b"]
    assert names(armadactl, "-l", "team=x,tier=gold") == ["b"]
    assert names(armadactl, "--match-labels", "team=x", "--inverse") == ["c"]
    assert names(armadactl, "--only-cordoned") == ["b"]
    table = armadactl("get", "queues").stdout
    assert "NAME" in table and "team=x,tier=gold" in table
    stream = list(yaml.safe_load_all(armadactl("get", "queues", "-o", "yaml").stdout))
    assert [d["name"] for d in stream] == ["a", "b", "c"]


def test_cordon_and_uncordon(armadactl: Armadactl, api: Client) -> None:
    make_queues(api)
    dry = armadactl("cordon", "queues", "-l", "team=x", "--dry-run")
    assert dry.stdout.splitlines() == ["Cordoning the following queues: (DRY RUN)", "a", "b"]
    assert not api.get_queue("a").cordoned
    result = armadactl("cordon", "queue", "a", "c")
    assert result.stdout.splitlines() == [
        "Cordoning the following queues:",
        "a cordoned",
        "c cordoned",
    ]
    assert [api.get_queue(n).cordoned for n in "abc"] == [True, True, True]
    assert armadactl("uncordon", "queues", "-l", "tier=gold", "--inverse").exit_code == 0
    assert [api.get_queue(n).cordoned for n in "abc"] == [False, True, False]
    both = armadactl("cordon", "queues", "a", "-l", "team=x")
    assert both.exit_code == 2 and "not both" in both.stderr
    neither = armadactl("uncordon", "queues")
    assert neither.exit_code == 2
    unknown = armadactl("cordon", "queues", "zzz")
    assert unknown.exit_code == 1 and "'zzz' does not exist" in unknown.stderr


def test_create_and_update_from_a_file(armadactl: Armadactl, api: Client, tmp_path: Path) -> None:
    path = write(tmp_path / "resources.yaml", QUEUES_FILE)
    dry = armadactl("create", "-f", str(path), "--dry-run")
    assert dry.exit_code == 0 and api.get_queues() == []
    result = armadactl("create", "-f", str(path))
    assert result.stdout.splitlines() == ["Created queue team-a", "Created retry policy oom-retry"]
    queue = api.get_queue("team-a")
    assert queue.priority_factor == 2 and queue.permissions[0].subjects[0].name == "team-a"
    policy = api.get_retry_policy("oom-retry")
    assert policy.rules[0].mutate.resources.memory.factor == 1.5
    assert policy.default_action == submit_pb2.RETRY_ACTION_FAIL
    # What get prints, create/update reads back.
    printed = armadactl("get", "queue", "team-a").stdout.replace(
        "priorityFactor: 2.0", "priorityFactor: 5"
    )
    edited = write(tmp_path / "edited.yaml", printed)
    assert armadactl("update", "-f", str(edited)).exit_code == 0
    assert api.get_queue("team-a").priority_factor == 5


def test_resource_file_mistakes(armadactl: Armadactl, tmp_path: Path) -> None:
    wrong_kind = write(tmp_path / "a.yaml", QUEUES_FILE.replace("kind: Queue", "kind: Queues"))
    result = armadactl("create", "-f", str(wrong_kind))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {wrong_kind}:2: kind: expected Queue or RetryPolicy, got 'Queues'\n"
    )
    typo = write(tmp_path / "b.yaml", QUEUES_FILE.replace("retryLimit", "retryLimt"))
    result = armadactl("create", "-f", str(typo))
    assert result.exit_code == 2
    assert (
        "b.yaml:13: RetryPolicy: unknown field 'retryLimt' (did you mean 'retryLimit'?)"
        in result.stderr
    )
    version = write(tmp_path / "c.yaml", QUEUES_FILE.replace("v1beta1", "v2", 1))
    assert (
        "apiVersion: expected armadaproject.io/v1beta1"
        in armadactl("create", "-f", str(version)).stderr
    )
    assert armadactl("create").exit_code == 2


def test_retry_policy_commands(armadactl: Armadactl, api: Client, tmp_path: Path) -> None:
    policy = write(tmp_path / "p.yaml", QUEUES_FILE.split("---\n")[1])
    assert armadactl("create", "retry-policy", "-f", str(policy)).exit_code == 0
    queue_only = write(tmp_path / "q.yaml", QUEUES_FILE.split("---\n", maxsplit=1)[0])
    wrong = armadactl("create", "retry-policy", "-f", str(queue_only))
    assert wrong.exit_code == 2 and "expected RetryPolicy, got 'Queue'" in wrong.stderr
    shown = yaml.safe_load(armadactl("get", "retry-policy", "oom-retry").stdout)
    assert shown["defaultAction"] == "Fail" and shown["rules"][0]["action"] == "Retry"
    write(policy, QUEUES_FILE.split("---\n")[1].replace("retryLimit: 3", "retryLimit: 7"))
    assert armadactl("update", "retry-policy", "-f", str(policy)).exit_code == 0
    listed = json.loads(armadactl("get", "retry-policies", "-o", "json").stdout)
    assert [(p["name"], p["retryLimit"]) for p in listed] == [("oom-retry", 7)]
    assert "oom-retry" in armadactl("get", "retry-policies").stdout
    assert armadactl("delete", "retry-policy", "oom-retry").exit_code == 0
    assert api.get_retry_policies() == []
    gone = armadactl("delete", "retry-policy", "oom-retry")
    assert gone.exit_code == 1 and "does not exist" in gone.stderr
