"""End to end on real servers: `prefect deployment run` an AVATAR-Synth batch through prepare -> propose -> push,
with the worker killed mid-batch and the batch rerun; annotate through the Label Studio API; pull; export; and
score the synthetic ground truth with avatar-eval against the exported files."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
from pycocotools.coco import COCO

from avatar_bench.format import AvatarDataset
from avatar_bench.submission import write_submission
from avatar_bench.synth import generate
from pipeline.review import config as C
from pipeline.review.tasks import frame_choice, instance_results, reject_result
from tests.flows import synth_truth

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_for(predicate, timeout: float, what: str, stack, run_id: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        state = stack.flow_run(run_id)["state_type"]
        if time.monotonic() > deadline or state in ("COMPLETED", "FAILED", "CRASHED"):
            raise AssertionError(f"{what}: not seen (flow run {state})\n{stack.logs(run_id)[-3000:]}")
        time.sleep(0.2)


def truth_result(record: dict, height: int, width: int) -> list[dict]:
    """What an annotator submits to correct a frame: the exact synthetic masks, sounding flags and choices."""
    result = []
    for k, inst in enumerate(record["instances"]):
        inst = {"category": inst["category"], "rle": inst["segmentation"], "sounding": inst["sounding"]}
        result += instance_results(inst, f"gt{k}", height, width)
    result.append(frame_choice(C.SCENARIO, [record["scenario"]]))
    return result + ([frame_choice(C.HEARD, record["sounding_categories"])] if record["sounding_categories"] else [])


def annotate(client, project: int, synth, frames: pd.DataFrame) -> dict[str, list[str]]:
    """Reject the first frame (and frames the generator itself would not annotate), accept every third
    proposal as it is, correct the others with the synthetic truth."""
    roles: dict[str, list[str]] = {"rejected": [], "accepted": [], "corrected": []}
    tasks = client.existing_tasks(project)
    for k, row in enumerate(frames.sort_values("frame_id").itertuples()):
        record = synth_truth.truth(synth, row.video_id, int(row.frame_index))
        task = tasks[row.frame_id]
        if k == 0 or record is None:
            role, result = "rejected", reject_result()
        elif k % 3 == 1:
            role, result = "accepted", [r for p in client.sdk.predictions.list(task=task) for r in p.result]
        else:
            role, result = "corrected", truth_result(record, int(row.height), int(row.width))
        client.sdk.annotations.create(id=task, result=result, was_cancelled=False, ground_truth=False, lead_time=5.0)
        roles[role].append(row.frame_id)
    return roles


def test_annotation_batch_end_to_end(prefect_stack, label_studio, tmp_path):
    synth = tmp_path / "synth"
    generate(synth, preset="tiny", seed=1, workers=1, progress=False, n_train=1, n_val=1, n_test=2, n_bad=1,
             duration_s=8.0)
    work = prefect_stack.work_dir / "batches" / "e2e"
    params = {"source": f"synth:{synth}", "batch": "e2e", "categories": str(synth / "annotations" / "test.json"),
              "prepare_config": {"checkpoint_every": 1, "frames": {"n_frames": 3}}, "chunk_videos": 2}

    # 1. the worker dies (SIGKILL, with its flow run) once one video is prepared
    first, _ = prefect_stack.run("avatar-annotation-batch/no-weights", params, watch=False)
    parts = work / "manifests" / "selection.parts"
    wait_for(lambda: parts.exists() and any(parts.glob("*.parquet")), 240, "the first prepared video",
             prefect_stack, first)
    prefect_stack.kill_worker()
    assert not (work / "prepare_summary.json").exists()  # killed mid-prepare
    assert prefect_stack.flow_run(first)["state_type"] != "COMPLETED"

    # 2. a new worker; the rerun resumes (on Dask this time) and completes
    prefect_stack.start_worker()
    second, state = prefect_stack.run("avatar-annotation-batch/no-weights", {**params, "task_runner": "dask"},
                                      job_env={"AVATAR_DASK_WORKERS": "1"}, timeout=400)
    assert state == "COMPLETED", prefect_stack.logs(second)[-3000:]
    summary = json.loads((work / "prepare_summary.json").read_text())
    assert 0 < summary["processed"] < summary["counts"]["videos"]  # videos finished before the kill: not redone
    frames = pd.read_parquet(work / "manifests" / "frames.parquet")
    frames = frames[frames["status"] == "ok"]
    assert frames["frame_id"].is_unique and len(frames) == summary["counts"]["frames"]
    client = label_studio.client()
    project = client.find_project("AVATAR e2e")
    assert sorted(client.existing_tasks(project)) == sorted(frames["frame_id"])  # every frame once
    report = prefect_stack.artifact("batch-e2e")
    assert f"| push | {len(frames)} new + 0 already |" in report  # the killed run never reached push
    assert f"0/{len(frames)} tasks annotated" in report

    # 3. a third run finds everything done: the plans find nothing left, no chunk runs, nothing pushed twice
    third, state = prefect_stack.run("avatar-annotation-batch/no-weights", params)
    assert state == "COMPLETED"
    names = {t["name"].rsplit("-", 1)[0] for t in prefect_stack.task_runs(third)}
    assert {"prepare-plan", "prepare-finish", "propose-plan", "propose-finish"} <= names, names
    assert not {"prepare-chunk", "propose-chunk"} & names, names
    assert "none this run" in prefect_stack.artifact("prepare-e2e")
    assert f"| push | 0 new + {len(frames)} already |" in prefect_stack.artifact("batch-e2e")

    # 4. annotators at work, then the pull deployment and the export CLI
    roles = annotate(client, project, synth, frames)
    assert roles["corrected"] and roles["accepted"] and roles["rejected"]
    _, state = prefect_stack.run("avatar-review-pull/pull", {"batch": "e2e", "categories": params["categories"]})
    assert state == "COMPLETED"
    assert f"{len(frames)}/{len(frames)} tasks annotated" in prefect_stack.artifact("review-pull-e2e")
    quality = prefect_stack.artifact("proposal-quality-e2e")  # the pull flow's proposal-quality report
    assert "# Proposal quality" in quality and r"| e2e | `none:default\|none:default\|none:default\|" in quality
    release = tmp_path / "release"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "--annotations",
                    str(prefect_stack.work_dir / "annotations"), "--out", str(release)], check=True, timeout=120)
    card = (release / "dataset_card.md").read_text()
    assert "AVATAR dataset card" in card

    # 5. the exported files load in pycocotools; avatar-eval gives CIoU 100 % to the truth on corrected frames
    scored = 0
    for split in ("train", "val", "test"):
        COCO(str(release / f"{split}.json"))
        ds = AvatarDataset.load(release / f"{split}.json")
        names = {v.id: v.name for v in ds.videos}
        keys = {im.id: f"{names[im.video_id]}/{im.frame_index:06d}" for im in ds.images}
        assert not set(keys.values()) & set(roles["rejected"])
        corrected = [im for im in ds.images if keys[im.id] in roles["corrected"] and im.scenario != "off_screen"]
        if not corrected:
            continue
        gt = AvatarDataset(categories=ds.categories, videos=ds.videos, images=corrected,
                           annotations=[a for a in ds.annotations if a.image_id in {im.id for im in corrected}])
        gt.save(tmp_path / f"gt_{split}.json")
        heatmaps = {f"{names[im.video_id]}/{im.frame_index}": synth_truth.heatmap(
            synth_truth.truth(synth, names[im.video_id], im.frame_index), im.height, im.width) for im in corrected}
        write_submission(tmp_path / f"pred_{split}.npz", heatmaps)
        out = tmp_path / f"eval_{split}"
        subprocess.run([sys.executable, "-m", "avatar_bench.cli", "--gt", str(tmp_path / f"gt_{split}.json"),
                        "--pred", str(tmp_path / f"pred_{split}.npz"), "--out", str(out), "--no-plots", "-q"],
                       check=True, timeout=120)
        result = json.loads((out / "results.json").read_text())
        assert result["summary"]["total_ciou"] == 100.0 and result["summary"]["n_frames"] == len(corrected)
        scored += len(corrected)
    assert scored > 0
