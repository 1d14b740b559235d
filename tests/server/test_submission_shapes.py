"""Pod specs that differ only in what their containers run (command, args, env, image) are
validated and defaulted once per shape, and each job still gets its own program."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from armada_client.armada import submit_pb2
from armada_client.k8s.io.api.core.v1 import generated_pb2 as core

import armada.server.submission.prepare as prepare
from armada.config.submission import SubmissionSettings
from armada.domain.clock import SequentialIds, SystemClock
from armada.server.submission import SubmissionError, SubmissionPreparer
from tests.api_builders import item


def request(items: list[submit_pb2.JobSubmitRequestItem]) -> submit_pb2.JobSubmitRequest:
    return submit_pb2.JobSubmitRequest(queue="q", job_set_id="s", job_request_items=items)


def program(i: int, env_bytes: int = 10) -> submit_pb2.JobSubmitRequestItem:
    job = item()
    main = job.pod_spec.containers[0]
    main.image = f"busybox:{i}"
    main.command[:] = ["sh", "-c"]
    main.args[:] = [f"echo {i}"]
    main.env.add(name="INDEX", value=str(i) * env_bytes)
    return job


def preparer(settings: SubmissionSettings | None = None) -> SubmissionPreparer:
    return SubmissionPreparer(
        settings or SubmissionSettings(), ["armada-default"], SystemClock(), SequentialIds()
    )


def test_one_verdict_per_shape_and_each_job_keeps_its_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged: list[core.PodSpec] = []
    judge = prepare.judge_pod

    def counting(*args: Any) -> prepare.PodVerdict:
        judged.append(args[1])
        return judge(*args)

    monkeypatch.setattr(prepare, "judge_pod", counting)
    specs = preparer().prepare(request([program(i) for i in range(50)]), "u", (), {}).specs
    assert len(judged) == 1, "50 jobs of one shape are judged once"
    for i, spec in enumerate(specs):
        pod = core.PodSpec.FromString(spec.pod_spec)
        sent = program(i).pod_spec
        expected = core.PodSpec()
        expected.CopyFrom(sent)
        judge("pod_spec", expected, SubmissionSettings(), ["armada-default"])
        assert pod == expected  # its own program, and the shape's defaults
        assert pod.containers[0].args == [f"echo {i}"]


def test_a_pod_too_large_is_refused_though_its_shape_was_accepted() -> None:
    settings = SubmissionSettings(max_pod_spec_size_bytes=2000)
    prepared = preparer(settings)
    prepared.prepare(request([program(1)]), "u", (), {})
    with pytest.raises(SubmissionError, match="the limit is 2000"):
        prepared.prepare(request([program(2, env_bytes=3000)]), "u", (), {})


def test_a_bad_shape_is_refused_whatever_the_program() -> None:
    job = program(1)
    job.pod_spec.containers[0].resources.Clear()
    with pytest.raises(SubmissionError, match="no resources specified"):
        preparer().prepare(request([job]), "u", (), {})


def test_items_alike_give_specs_alike_but_for_their_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared_items: list[submit_pb2.JobSubmitRequestItem] = []
    prepare_item = SubmissionPreparer._prepare_item

    def counting(self: SubmissionPreparer, *args: Any, **kwargs: Any) -> Any:
        prepared_items.append(args[1])
        return prepare_item(self, *args, **kwargs)

    monkeypatch.setattr(SubmissionPreparer, "_prepare_item", counting)
    alike = item(labels={"tier": "batch"}, annotations={"note": "same"})
    specs = preparer().prepare(request([alike] * 100 + [program(1)]), "u", (), {}).specs
    assert len(prepared_items) == 2, "a hundred items alike are checked once"
    assert len({spec.job_id for spec in specs}) == 101
    first = specs[0]
    for spec in specs[1:100]:
        assert spec == msgspec.structs.replace(first, job_id=spec.job_id)
    assert core.PodSpec.FromString(specs[100].pod_spec).containers[0].args == ["echo 1"]


def test_items_alike_naming_their_job_id_each_get_their_own() -> None:
    alike = item(labels={"run": "job-{JobId}"}, annotations={"link": "https://x/{JobId}/log"})
    specs = preparer().prepare(request([alike] * 10), "u", (), {}).specs
    for spec in specs:
        assert spec.labels == {"run": f"job-{spec.job_id}"}
        assert spec.annotations == {"link": f"https://x/{spec.job_id}/log"}


def test_a_batch_of_different_items_stops_looking_for_alike_ones() -> None:
    same = prepare.SameItems()
    for i in range(prepare.SameItems.GIVE_UP_AFTER):
        assert same.find(program(i)) == (None, program(i).SerializeToString())
    assert same.find(program(0)) == (None, b""), "no longer looking"
