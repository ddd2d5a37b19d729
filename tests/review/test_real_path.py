"""The documented real-clip path on real servers, end to end: ``prepare`` on ../shared/media, ``propose --cpu-demo``
(YOLOv8n ONNX + YAMNet + GrabCut), ``review push`` to the session's Label Studio, a scripted annotator through the
API (tests/review/annotator.py: accepts, redraws a mask, flips a sounding choice, deletes and adds instances,
rejects, paints boxes), ``review pull`` and ``report``: every number of the report is what the script did."""

from __future__ import annotations

import json
import statistics

import pytest

from pipeline.cli import main
from pipeline.layout import WorkDir
from tests.conftest import shared_path
from tests.review.annotator import annotate

pytestmark = [pytest.mark.services, pytest.mark.slow]
TITLE = "real clip path"


def test_real_clips_to_the_proposal_quality_report(label_studio, tmp_path, monkeypatch, capsys):
    media, models = shared_path("media"), shared_path("models")
    for name, value in (("LABEL_STUDIO_URL", label_studio.url), ("LABEL_STUDIO_TOKEN_FILE", label_studio.token_file),
                        ("LOCAL_FILES_DOCUMENT_ROOT", label_studio.env["LOCAL_FILES_DOCUMENT_ROOT"])):
        monkeypatch.setenv(name, str(value))
    work = tmp_path / "work"  # under the document root Label Studio serves
    common = ["--work-dir", str(work), "-q"]
    assert main(["prepare", "--source", f"dir:{media}", "--set", "frames.n_frames=2", *common]) == 0
    assert main(["propose", "--cpu-demo", str(models), *common]) == 0
    assert main(["review", "push", "--project", TITLE, *common]) == 0
    capsys.readouterr()
    proposals = {p.frame_id: p for p in WorkDir(work).records("proposals", "ok")}
    assert len({p.video_id for p in proposals.values()}) == 4 and len(proposals) == 8  # the clips the filter keeps
    assert {p.model_version for p in proposals.values()} == {
        "yolo:yolov8n_coco80_int8.onnx|yamnet:yamnet.tflite|grabcut:opencv|rules:tag0.1-det0.35"}
    client = label_studio.client()
    tasks = client.existing_tasks(client.find_project(TITLE))
    assert sorted(tasks) == sorted(proposals)
    done = [annotate(client, tasks[fid], client.sdk.tasks.get(id=str(tasks[fid])).data, proposals[fid], k)
            for k, fid in enumerate(sorted(tasks))]
    assert main(["review", "pull", "--project", TITLE, *common]) == 0  # nothing malformed: exit 0
    capsys.readouterr()
    assert main(["report", "--work-dir", str(work), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    print(report["info"]["markdown"])
    (row,) = report["info"]["rows"]
    kept = [d for d in done if d.action != "reject"]
    ious = [v for d in kept for v in d.ious]
    assert {d.action for d in done} == {"accept", "redraw+flip", "delete+add", "reject"}
    assert any(d.added and d.removed for d in kept) and any(d.sounding_kept < len(d.ious) for d in kept)
    assert (row["frames"], row["kept"], row["rejected"]) == (len(done), len(kept), len(done) - len(kept))
    assert (row["added"], row["removed"], row["pairs"]) == (sum(d.added for d in kept),
                                                            sum(d.removed for d in kept), len(ious))
    assert row["unchanged"] == pytest.approx(statistics.fmean(d.unchanged for d in kept))
    assert row["mask_iou"] == pytest.approx(statistics.fmean(ious)) and min(ious) < 1.0
    assert row["sounding"] == pytest.approx(sum(d.sounding_kept for d in kept) / len(ious))
    assert row["scenario"] == pytest.approx(statistics.fmean(d.scenario == proposals[d.frame_id].scenario
                                                             for d in kept))
    assert row["seconds"] == pytest.approx(statistics.fmean(d.lead_time_s for d in done), rel=1e-6)
    assert report["kept"] == len(done) and not report["rejected"]  # every pulled frame compared
    assert (work / "report" / "proposal_quality.png").stat().st_size > 10_000
