"""Issue 14.6, end to end: a run's usage goes executor -> scheduler -> log -> the job set's
event stream (Armada's JobUtilisationEvent) -> `armadactl get job`."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
from armada_client.client import ArmadaClient
from click.testing import CliRunner

from armada.cli.armadactl.main import cli
from tests.api_builders import create_queue, events
from tests.dev.test_end_to_end import FAST, finished, running_dev, sleep_job, wait_until


def test_usage_reaches_the_event_stream_and_armadactl(tmp_path: Path) -> None:
    executor = {
        **FAST["executor"],
        "utilisation_sample_interval": "50ms",
        "utilisation_reporting_interval": "400ms",
    }
    with (
        running_dev(tmp_path, clusters=1, nodes_per_cluster=2, executor=executor) as armada,
        grpc.insecure_channel(armada.address) as channel,
    ):
        client = ArmadaClient(channel)
        create_queue(client)
        job_id = client.submit_jobs("queue-a", "s", [sleep_job("1s")]).job_response_items[0].job_id
        seen = wait_until(lambda: finished(client, "s", job_id), what="the job to finish")
        assert seen[-1] == "succeeded" and "utilisation" in seen
        assert seen.index("utilisation") > seen.index("running")
        reports = [
            m.message.utilisation
            for m in events(client, "queue-a", "s")
            if m.message.WhichOneof("events") == "utilisation"
        ]
        run = client.get_job_details([job_id]).job_details[job_id].job_runs[0]
        for report in reports:  # a simulated pod uses what it asked for: 150m, 64Mi
            assert (report.job_id, report.kubernetes_id, report.cluster_id) == (
                job_id,
                run.run_id,
                "cluster-1",
            )
            assert report.node_name == run.node and report.pod_name == f"armada-{job_id}-0"
            assert report.MaxResourcesForPeriod["cpu"].string == "150m"
            assert report.AvgResourcesForPeriod["memory"].string == "64Mi"
            assert report.queue == "queue-a" and report.job_set_id == "s"

        shown = CliRunner().invoke(cli, ["--armadaUrl", armada.address, "get", "job", job_id])
        assert shown.exit_code == 0, shown.output
        count = f"{len(reports)} report{'s' if len(reports) != 1 else ''}"
        assert (
            f"usage of {run.run_id}: most cpu 0.15, memory 64Mi; average cpu 0.15, memory "
            f"64Mi ({count})"
        ) in " ".join(shown.output.split())
        as_json = CliRunner().invoke(
            cli, ["--armadaUrl", armada.address, "get", "job", job_id, "-o", "json"]
        )
        usage = json.loads(as_json.output)["jobRuns"][0]["usage"]
        assert usage == {
            "reports": len(reports),
            "max": {"cpu": "0.15", "memory": "64Mi"},
            "avg": {"cpu": "0.15", "memory": "64Mi"},
        }
