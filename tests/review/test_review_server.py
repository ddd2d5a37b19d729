"""Push and pull against a real Label Studio (started once per session by the label_studio fixture)."""

import copy
import json

import numpy as np
import pytest

from avatar_bench import rle
from avatar_bench.format import AvatarDataset
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.manifest import Manifest
from pipeline.review import config as C
from pipeline.review import pull, push
from pipeline.review.brush import mask_to_brush
from pipeline.review.client import LabelStudioClient
from pipeline.review.tasks import reject_result
from tests.review import services
from tests.review.dummies import CATEGORIES, blob, make_proposals, proposal_row

pytestmark = pytest.mark.services


def annotate(client, task_id: int, result: list | None = None, **kw) -> int:
    """Act as an annotator: submit ``result`` (default: the task's prediction, i.e. accept the proposal)."""
    if result is None:
        result = client.sdk.predictions.list(task=task_id)[0].result
    return client.sdk.annotations.create(id=task_id, result=result, was_cancelled=False, ground_truth=False,
                                         lead_time=2.0, **kw).id


def test_push_twice_creates_no_duplicates(label_studio, review_config, tmp_path):
    client = label_studio.client()
    rows = make_proposals(tmp_path, 6)
    first = push(tmp_path, review_config, client)
    assert (first.processed, first.skipped) == (6, 0)
    second = push(tmp_path, review_config, client)
    assert (second.processed, second.skipped, second.info["project_id"]) == (0, 6, first.info["project_id"])
    make_proposals(tmp_path, 2, start=6)  # the batch grows: only the new frames go
    assert push(tmp_path, review_config, client).processed == 2
    tasks = client.existing_tasks(first.info["project_id"])
    assert len(tasks) == 8 and len(client.sdk.tasks.list(project=first.info["project_id"]).items) == 8
    pushed = Manifest(tmp_path / "manifests", "review_push", key="frame_id").read()
    assert sorted(pushed["task_id"]) == sorted(tasks.values())
    # the pre-annotation is the proposal's mask, exactly
    pred = client.sdk.predictions.list(task=tasks[rows[0].frame_id])[0]
    mask = next(r for r in pred.result if r["from_name"] == C.MASK)
    assert mask["value"]["rle"] == mask_to_brush(rle.decode(rows[0].instances[0].rle))
    assert pred.model_version == "test-v1"


def test_pull_twice_changes_nothing_and_an_edit_is_picked_up(label_studio, review_config, tmp_path):
    client = label_studio.client()
    rows = make_proposals(tmp_path, 4)
    project = push(tmp_path, review_config, client).info["project_id"]
    tasks = client.existing_tasks(project)
    accept, correct, reject = (tasks[r.frame_id] for r in rows[:3])
    annotate(client, accept)
    fixed = copy.deepcopy(client.sdk.predictions.list(task=correct)[0].result)
    fixed[0]["value"]["rle"] = mask_to_brush(blob(7))
    corrected_ann = annotate(client, correct, fixed)
    annotate(client, reject, reject_result())

    out = tmp_path / "annotations"
    first = pull(tmp_path, out, review_config, client)
    assert (first.counts["merged"], first.rejected["rejected_by_annotator"], first.counts["annotated"]) == (2, 1, 3)
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.json")}
    second = pull(tmp_path, out, review_config, client)
    assert (second.counts["merged"], second.skipped, second.info["written"]) == (0, 3, [])
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.json")} == files

    def masks_of(frame) -> list[np.ndarray]:
        ds = AvatarDataset.load(out / f"{frame.split}.json")
        im = next(i for i in ds.images if i.extra["frame_id"] == frame.frame_id)
        return [rle.decode(a.segmentation) for a in ds.anns_by_image[im.id]]

    assert (masks_of(rows[1])[0] == blob(7)).all()
    fixed[0]["value"]["rle"] = mask_to_brush(blob(8))  # the annotator changes their mind
    client.sdk.annotations.update(id=corrected_ann, result=fixed)
    third = pull(tmp_path, out, review_config, client)
    assert (third.counts["merged"], third.skipped) == (1, 2)
    assert (masks_of(rows[1])[0] == blob(8)).all()
    assert not any(im.extra["frame_id"] == rows[2].frame_id
                   for s in ("train", "val", "test") if (out / f"{s}.json").exists()
                   for im in AvatarDataset.load(out / f"{s}.json").images)


def test_malformed_annotation_is_reported_with_its_task_id(label_studio, review_config, tmp_path):
    client = label_studio.client()
    rows = make_proposals(tmp_path, 3)
    project = push(tmp_path, review_config, client).info["project_id"]
    tasks = [client.existing_tasks(project)[r.frame_id] for r in rows]
    unknown = copy.deepcopy(client.sdk.predictions.list(task=tasks[0])[0].result)
    unknown[0]["value"]["brushlabels"] = ["unicorn"]
    wrong_size = copy.deepcopy(client.sdk.predictions.list(task=tasks[1])[0].result)
    wrong_size[0].update(original_width=80, original_height=45)
    wrong_size[0]["value"]["rle"] = mask_to_brush(np.ones((45, 80), bool))
    for task, result in zip(tasks, (unknown, wrong_size, None), strict=True):
        annotate(client, task, result)
    summary = pull(tmp_path, tmp_path / "ann", review_config, client)
    errors = {m["task_id"]: m["error"] for m in summary.info["malformed"]}
    assert set(errors) == set(tasks[:2]) and "unicorn" in errors[tasks[0]] and "45x80" in errors[tasks[1]]
    assert summary.counts["merged"] == 1  # nothing else lost
    merged = AvatarDataset.load(tmp_path / "ann" / f"{rows[2].split}.json")
    assert [im.extra["frame_id"] for im in merged.images] == [rows[2].frame_id]


class StopsAfter(LabelStudioClient):
    """A real client that stops the real server after ``n`` import requests (fault injection, not a mock)."""

    def __init__(self, service: services.LabelStudioService, n: int):
        super().__init__(service.url, service.token_file.read_text().strip(), timeout_s=30)
        self.service, self.left = service, n

    def import_tasks(self, project_id, tasks):
        if self.left == 0:
            self.service.stop()
        self.left -= 1
        return super().import_tasks(project_id, tasks)


def test_label_studio_down_mid_push_then_rerun_completes(label_studio, review_config, tmp_path):
    make_proposals(tmp_path, 10)  # 3 chunks of 4
    try:
        with pytest.raises(PipelineError) as failure:
            push(tmp_path, review_config, StopsAfter(label_studio, 1))
    finally:
        label_studio.start()
    message = str(failure.value)
    assert label_studio.url in message and "importing 2 tasks" not in message and "cannot reach" in message
    client = label_studio.client()
    project = client.find_project(review_config.project)
    assert len(client.existing_tasks(project)) == 4  # the first chunk landed
    again = push(tmp_path, review_config, client)
    assert (again.processed, again.skipped) == (6, 4)
    assert len(client.existing_tasks(project)) == 10


def test_unreachable_server_is_one_clear_error(tmp_path, review_config):
    make_proposals(tmp_path, 1)
    url = f"http://127.0.0.1:{services.free_port()}"
    with pytest.raises(PipelineError, match=f"Label Studio at {url}: listing projects .* cannot reach the server"):
        push(tmp_path, review_config, LabelStudioClient(url, "not-a-token", timeout_s=5))


def test_review_cli_push_status_pull(label_studio, tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_TOKEN_FILE", str(label_studio.token_file))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    rows = make_proposals(tmp_path, 2)
    cats = tmp_path / "cats.json"
    AvatarDataset(categories=CATEGORIES).save(cats)
    common = ["--work-dir", str(tmp_path), "--project", "cli project", "--categories", str(cats),
              "--document-root", label_studio.env["LOCAL_FILES_DOCUMENT_ROOT"]]
    assert main(["review", "push", *common]) == 0
    assert "2 task(s) pushed, 0 already there" in capsys.readouterr().out
    client = label_studio.client()
    annotate(client, client.existing_tasks(client.find_project("cli project"))[rows[0].frame_id])
    assert main(["review", "status", *common]) == 0
    assert "1/2 task(s) annotated" in capsys.readouterr().out
    assert main(["review", "pull", *common, "--out", str(tmp_path / "ann"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["merged"] == 1
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{services.free_port()}")
    assert main(["review", "status", *common]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the server" in err and "Traceback" not in err


def test_service_script_token_lifecycle_and_taken_port(label_studio, tmp_path):
    token = label_studio.token_file
    assert token.stat().st_mode & 0o777 == 0o600
    assert label_studio.run("status").returncode == 0
    again = label_studio.run("token").stdout
    assert "stored" not in again and token.read_text() not in again  # reused, never printed
    old = token.read_text()
    token.rename(tmp_path / "lost")  # the stored copy is lost: the API cannot show the token again (409)
    lost = label_studio.run("token", check=False)
    assert lost.returncode == 2 and "token --reset" in lost.stderr
    proc = label_studio.run_args(["token", "--reset"])
    assert proc.returncode == 0 and token.read_text() != old and old not in proc.stdout + proc.stderr
    assert label_studio.client().check() == "tester@avatar.local"
    with pytest.raises(PipelineError) as revoked:  # the server answers 401: not "cannot reach the server"
        LabelStudioClient(label_studio.url, old, timeout_s=30).check()
    message = str(revoked.value)
    assert "HTTP 401 (the token was refused" in message and "token --reset" in message
    assert "cannot reach" not in message and old not in message
    other = services.LabelStudioService(tmp_path / "other", tmp_path, label_studio.venv)
    other.env["LABEL_STUDIO_URL"] = label_studio.url  # same port, another data dir
    taken = other.run("start", check=False)
    assert taken.returncode == 2 and f"port {label_studio.port} on 127.0.0.1 is taken" in taken.stderr


def test_a_mixed_batch_reaches_label_studio_as_strict_json(label_studio, review_config, tmp_path):
    """Frames with and without a scenario (NaN in the table), instances with and without masks: all pushed."""
    rows = [proposal_row(tmp_path, i) for i in range(4)]
    for i, row in enumerate(rows):
        if i % 2:
            row.instances[1].rle = None  # no mask: sent as a box
        row.scenario = None if i < 2 else row.scenario
        row.scenario_score = float("nan") if i < 2 else 0.7
        row.timestamp_s = float("nan") if i == 3 else 0.48
    with WorkDir(tmp_path).manifest("proposals") as m:
        m.extend(rows)
    client = label_studio.client()
    stats = push(tmp_path, review_config, client)
    assert (stats.processed, stats.n_rejected) == (4, 0)
    tasks = client.existing_tasks(stats.info["project_id"])
    types = {fid: sorted(r["type"] for r in client.sdk.predictions.list(task=tid)[0].result)
             for fid, tid in tasks.items()}
    assert types[rows[1].frame_id].count("rectanglelabels") == 1
    assert types[rows[0].frame_id].count("brushlabels") == 2
    assert "choices" in types[rows[2].frame_id]


def test_a_project_made_before_per_task_lists_keeps_static_lists(label_studio, review_config, tmp_path):
    """Its earlier tasks carry no label lists: the config keeps every category written out, and both kinds work."""
    client = label_studio.client()
    old = ('<View><Image name="image" value="$image"/><BrushLabels name="mask" toName="image">'
           + "".join(f'<Label value="{c.name}"/>' for c in CATEGORIES) + '</BrushLabels><Choices name="heard" '
           'toName="image" choice="multiple">' + "".join(f'<Choice value="{c.name}"/>' for c in CATEGORIES)
           + '</Choices></View>')  # the shape of earlier pushes' configs: static lists, no $mask_labels
    project = client.sdk.projects.create(title=review_config.project, label_config=old).id
    client.sdk.projects.import_tasks(id=project, request=[{"data": {"image": "/x.jpg", "frame_id": "old/000001"}}])
    make_proposals(tmp_path, 2)
    assert push(tmp_path, review_config, client).processed == 2
    config = client.sdk.projects.get(id=project).label_config
    assert "$mask_labels" not in config and '<Label value="drum"' in config and 'name="box"' in config


def test_a_frame_proposed_again_updates_its_task_unless_someone_started_it(label_studio, review_config, tmp_path):
    """``propose --redo-pushed``: the next push gives an untouched task the new proposal, never an annotated one."""
    client = label_studio.client()
    rows = make_proposals(tmp_path, 3)
    work = WorkDir(tmp_path)
    first = push(tmp_path, review_config, client)
    tasks = client.existing_tasks(first.info["project_id"])
    annotate(client, tasks[rows[0].frame_id])  # frame 0 is started; frame 1 is not
    before = {r.frame_id: r.proposal for r in work.records("review_push")}
    assert before == {r.frame_id: r.digest() for r in work.records("proposals")}
    again = [proposal_row(tmp_path, i) for i in (0, 1)]  # proposed again with another model
    for r in again:
        r.model_version, r.scenario_score = "test-v2", 0.25
    with work.manifest("proposals") as m:
        m.extend(again)
    second = push(tmp_path, review_config, client)
    assert (second.processed, second.skipped, second.counts["updated"], second.counts["kept_started"]) == (0, 3, 1, 1)
    versions = {fid: [p.model_version for p in client.sdk.predictions.list(task=tid)] for fid, tid in tasks.items()}
    assert versions == {rows[0].frame_id: ["test-v1"], rows[1].frame_id: ["test-v2"], rows[2].frame_id: ["test-v1"]}
    assert "(0.25)" in client.sdk.tasks.get(id=str(tasks[rows[1].frame_id])).data["hint"]
    now = {r.frame_id: r for r in work.records("proposals")}
    pushed = {r.frame_id: r.proposal for r in work.records("review_push")}
    assert pushed[rows[1].frame_id] == now[rows[1].frame_id].digest()  # the task shows the new proposal
    assert pushed[rows[0].frame_id] == before[rows[0].frame_id] != now[rows[0].frame_id].digest()  # what it shows
    third = push(tmp_path, review_config, client)  # nothing new: the started task is still left alone
    assert (third.counts["updated"], third.counts["kept_started"]) == (0, 1)

