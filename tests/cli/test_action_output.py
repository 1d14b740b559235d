"""-o json|yaml on the commands that change something: a sentence for people, a small document
for scripts; and -o taken after every command as well as before it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from armada.client import Client
from tests.cli.conftest import Armadactl, write
from tests.cli.test_config_and_errors import all_commands
from tests.cli.test_queue_commands import QUEUES_FILE

LEAVES = [
    (path, command)
    for path, command in all_commands()
    if not isinstance(command, click.Group)
    and path != "armadactl completion"  # prints a shell script, whatever the format
]


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[path for path, _ in LEAVES])
def test_every_command_takes_o_after_it(path: str, command: click.Command) -> None:
    assert any("--output" in getattr(p, "opts", ()) for p in command.params), path


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_queue_commands_print_what_they_did(armadactl: Armadactl, api: Client) -> None:
    created = armadactl("create", "queue", "x", "-o", "json")
    assert as_json(created) == {"queue": "x", "created": True}
    updated = armadactl("update", "queue", "x", "--priority-factor", "2", "-o", "yaml")
    assert yaml.safe_load(updated.stdout) == {"queue": "x", "updated": True}
    assert api.get_queue("x").priority_factor == 2
    # The global flag, before the command, works as well.
    cordoned = armadactl("-o", "json", "cordon", "queues", "x")
    assert as_json(cordoned) == {"queues": ["x"], "cordoned": True, "dryRun": False}
    assert api.get_queue("x").cordoned
    dry = armadactl("uncordon", "queues", "x", "--dry-run", "-o", "json")
    assert as_json(dry) == {"queues": ["x"], "cordoned": False, "dryRun": True}
    assert api.get_queue("x").cordoned
    deleted = armadactl("delete", "queue", "x", "-o", "json")
    assert as_json(deleted) == {"queue": "x", "deleted": True}
    assert armadactl("create", "queue", "y").stdout == "Created queue y\n"  # people: unchanged


def test_resource_files_print_what_they_did(
    armadactl: Armadactl, api: Client, tmp_path: Path
) -> None:
    path = str(write(tmp_path / "resources.yaml", QUEUES_FILE))
    dry = armadactl("create", "-f", path, "--dry-run", "-o", "json")
    assert as_json(dry) == [
        {"kind": "Queue", "name": "team-a", "created": False},
        {"kind": "RetryPolicy", "name": "oom-retry", "created": False},
    ]
    assert api.get_queues() == []
    created = armadactl("create", "-f", path, "-o", "yaml")
    assert [d["created"] for d in yaml.safe_load(created.stdout)] == [True, True]
    updated = armadactl("update", "-f", path, "-o", "json")
    assert [(d["kind"], d["updated"]) for d in as_json(updated)] == [
        ("Queue", True),
        ("RetryPolicy", True),
    ]
    policy = armadactl("update", "retry-policy", "-f", path.replace("resources", "p"), "-o", "json")
    assert policy.exit_code == 2  # no such file: still one line, exit 2
    write(tmp_path / "p.yaml", QUEUES_FILE.split("---\n")[1])
    policy = armadactl("update", "retry-policy", "-f", str(tmp_path / "p.yaml"), "-o", "json")
    assert as_json(policy) == [{"kind": "RetryPolicy", "name": "oom-retry", "updated": True}]
    deleted = armadactl("delete", "retry-policy", "oom-retry", "-o", "json")
    assert as_json(deleted) == {"retryPolicy": "oom-retry", "deleted": True}


def test_job_set_and_queue_actions_print_what_they_did(
    armadactl: Armadactl, api: Client, job_file: Path
) -> None:
    assert armadactl("create", "queue", "queue-a").exit_code == 0
    assert armadactl("submit", str(job_file)).exit_code == 0
    job_set = armadactl("cancel", "job-set", "queue-a", "set-1", "-s", "queued", "-o", "json")
    assert as_json(job_set) == {
        "queue": "queue-a",
        "jobSetId": "set-1",
        "jobStates": ["queued"],
        "cancelRequested": True,
    }
    queues = armadactl("cancel", "queues", "queue-a", "-s", "queued", "-p", "a,b", "-o", "yaml")
    assert yaml.safe_load(queues.stdout) == {
        "queues": ["queue-a"],
        "jobStates": ["queued"],
        "priorityClasses": ["a", "b"],
        "pools": [],
        "dryRun": False,
    }
    preempt = armadactl("preempt", "queues", "queue-a", "-a", "--pools", "x,y", "-o", "json")
    assert as_json(preempt) == {
        "queues": ["queue-a"],
        "priorityClasses": [],
        "pools": ["x", "y"],
        "dryRun": False,
    }


def test_executor_and_node_commands(armadactl: Armadactl, api: Client) -> None:
    cordon = armadactl("cordon", "executor", "cluster-1", "kernel upgrade", "-o", "json")
    assert as_json(cordon) == {
        "executor": "cluster-1",
        "cordoned": True,
        "reason": "kernel upgrade",
    }
    uncordon = armadactl("uncordon", "executor", "cluster-1", "-o", "yaml")
    assert yaml.safe_load(uncordon.stdout) == {"executor": "cluster-1", "cordoned": False}
    assert armadactl("delete", "executor", "cluster-1").stdout == (
        "Deleted the settings of executor cluster-1\n"
    )
    for command in (
        ("cancel", "executor", "cluster-1"),
        ("preempt", "executor", "cluster-1", "-q", "team"),
        ("cancel", "node", "n1", "-e", "cluster-1"),
        ("preempt", "node", "n1", "-e", "cluster-1"),
    ):
        bare = armadactl(*command)
        assert bare.exit_code == 2, command
        assert bare.stderr.startswith(
            "Error: give -p/--priority-classes, or -a/--all-priority-classes"
        )
    node = armadactl("cancel", "node", "n1", "-e", "cluster-1", "-p", "a,b", "-q", "q1,q2")
    assert node.stdout == (
        "Asked to cancel the jobs running on node n1 of executor cluster-1 "
        "(queues: q1,q2; priorityClasses: a,b)\n"
    )
    executor = armadactl("preempt", "executor", "cluster-1", "-a", "--pools", "p1,p2", "-o", "json")
    assert as_json(executor) == {
        "executor": "cluster-1",
        "queues": [],
        "priorityClasses": [],
        "pools": ["p1", "p2"],
        "preemptRequested": True,
    }
    no_pools = armadactl("preempt", "node", "n1", "-e", "cluster-1", "-a", "--pools", "p1")
    assert no_pools.exit_code == 2 and "No such option '--pools'" in no_pools.stderr
