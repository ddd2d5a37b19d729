"""Review flows as deployments on a real Prefect server + process worker + Label Studio."""

import json

import pytest

from avatar_bench.format import AvatarDataset
from tests.review.dummies import CATEGORIES, make_proposals

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_push_and_pull_deployments_are_idempotent(prefect_stack, label_studio, tmp_path):
    make_proposals(prefect_stack.work_dir / "batches" / "hand", 3)
    cats = tmp_path / "categories.json"
    AvatarDataset(categories=CATEGORIES).save(cats)
    params = {"batch": "hand", "categories": str(cats)}
    _, state = prefect_stack.run("avatar-review-push/push", params)
    assert state == "COMPLETED"
    assert "| push | 3 new + 0 already |" in prefect_stack.artifact("review-push-hand")
    client = label_studio.client()
    project = client.find_project("AVATAR hand")
    tasks = client.existing_tasks(project)
    assert len(tasks) == 3
    for task_id in tasks.values():  # an annotator accepts every proposal
        result = client.sdk.predictions.list(task=task_id)[0].result
        client.sdk.annotations.create(id=task_id, result=result, was_cancelled=False, ground_truth=False)
    _, state = prefect_stack.run("avatar-review-pull/pull", params)
    assert state == "COMPLETED"
    assert "3/3 tasks annotated (100 %)" in prefect_stack.artifact("review-pull-hand")
    out = prefect_stack.work_dir / "annotations"
    merged = [AvatarDataset.load(out / f"{s}.json") for s in ("train", "val", "test")]
    assert sum(len(ds.images) for ds in merged) == 3
    assert all(a.origin == "human" for ds in merged for a in ds.annotations)


def test_push_fails_clearly_when_label_studio_is_down(prefect_stack, tmp_path):
    make_proposals(prefect_stack.work_dir / "batches" / "down", 1)
    cats = tmp_path / "categories.json"
    AvatarDataset(categories=CATEGORIES).save(cats)
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    run_id, state = prefect_stack.run("avatar-review-push/push", {"batch": "down", "categories": str(cats)},
                                      job_env={"LABEL_STUDIO_URL": dead, "AVATAR_RETRY_DELAYS": "0,0"})
    assert state == "FAILED"
    message = prefect_stack.flow_run(run_id)["state"]["message"]
    assert f"Label Studio at {dead}: listing projects" in message and "cannot reach the server" in message
    push_runs = [t for t in prefect_stack.task_runs(run_id) if t["name"].startswith("review-push")]
    assert [t["run_count"] for t in push_runs] == [3]  # network errors are retried twice, then the flow fails
    assert "Traceback" not in message
    assert json.dumps(message)  # one readable line for the lead


def test_secrets_stay_out_of_flow_runs_and_their_logs(prefect_stack, label_studio, tmp_path):
    """A password in the URL and an expired token: each a clear failure, not retried, no secret in any log."""
    import base64

    make_proposals(prefect_stack.work_dir / "batches" / "secret", 1)
    cats = tmp_path / "categories.json"
    AvatarDataset(categories=CATEGORIES).save(cats)
    claims = base64.urlsafe_b64encode(json.dumps({"token_type": "refresh", "exp": 1, "jti": "j"}).encode())
    expired = f"eyJhbGciOiJIUzI1NiJ9.{claims.rstrip(b'=').decode()}.c2lnbmF0dXJlc2lnbmF0dXJl"
    port = label_studio.url.rsplit(":", 1)[1]
    cases = [({"LABEL_STUDIO_URL": f"http://annotator:Hunter2Secret@127.0.0.1:{port}"}, "Hunter2Secret",
              "credentials in the URL"),
             ({"LABEL_STUDIO_API_KEY": expired}, expired, "the token was refused before any request")]
    for env, secret, expected in cases:
        run_id, state = prefect_stack.run("avatar-review-push/push", {"batch": "secret", "categories": str(cats)},
                                          job_env={**env, "AVATAR_RETRY_DELAYS": "0,0"})
        message = prefect_stack.flow_run(run_id)["state"]["message"]
        logs = prefect_stack.logs(run_id)
        assert state == "FAILED" and expected in message and "cannot reach" not in message
        assert secret not in message and secret not in logs and expected in logs
        push_runs = [t for t in prefect_stack.task_runs(run_id) if t["name"].startswith("review-push")]
        assert [t["run_count"] for t in push_runs] == [1]  # a user mistake: not retried
