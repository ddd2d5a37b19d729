"""Push and pull throughput (tasks/s) against a real Label Studio, 1,000 tasks with masks.

    python -m benchmarks.review_sync                   # starts its own Label Studio (scripts/labelstudio.py)
    python -m benchmarks.review_sync --url http://127.0.0.1:8080 --token-file work/labelstudio/token --root work

(from the repository root, or ``python benchmarks/review_sync.py`` with the package installed)

Each task is a 640x360 frame with two SAM-like masks (brush RLE pre-annotations). Measured in the same run:

- push: ``review.push`` (100 tasks per import request, existing tasks looked up first) against the baseline of
  one request per task (``chunk_size=1``, on a tenth of the tasks);
- pull: ``review.pull`` (one JSON export, exact brush -> COCO conversion, merge) against the baseline of reading
  each task by id (``tasks.get``, one request per task, same conversion, on a tenth of the tasks), and a second
  pull where nothing changed (versions compared, nothing rewritten).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avatar_bench import rle
from avatar_bench.format import Category
from pipeline.layout import WorkDir
from pipeline.proposals.records import InstanceProposal, ProposalRecord
from pipeline.review import ReviewConfig, pull, push
from pipeline.review.client import LabelStudioClient
from pipeline.review.convert import convert_task

REPO = Path(__file__).resolve().parents[1]

H, W = 360, 640
CATS = [Category(id=1, name="dog"), Category(id=2, name="car")]


def ellipse(rng: np.random.Generator) -> np.ndarray:
    cy, cx, ry, rx = rng.integers(60, 300), rng.integers(80, 560), rng.integers(20, 60), rng.integers(20, 80)
    yy, xx = np.ogrid[:H, :W]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def make_proposals(work: Path, n: int, prefix: str) -> None:
    """A proposals manifest of ``n`` frames with two masked instances each (no JPEG needed to push)."""
    rng = np.random.default_rng(0)
    records = []
    layout = WorkDir(work)
    layout.frames.mkdir(parents=True, exist_ok=True)  # the local-files storage must exist
    for i in range(n):
        vid = f"{prefix}{i:07d}_000000"
        insts = [InstanceProposal(instance_id=k + 1, category=CATS[k].name, detector_label=CATS[k].name,
                                  det_score=0.9, sounding=k == 0, sounding_score=0.5, bbox=[0, 0, 1, 1],
                                  rle=rle.encode(ellipse(rng))) for k in range(2)]
        image = str(layout.frame_image(vid, 12))
        records.append(ProposalRecord(frame_id=f"{vid}/000012", video_id=vid, image_path=image, width=W, height=H,
                                      frame_index=12, timestamp_s=0.48, label="dog barking", split="train",
                                      scenario="single", scenario_score=0.8, heard_categories=["dog"],
                                      instances=insts, model_version="bench"))
    with layout.manifest("proposals", flush_every=10_000) as m:
        m.extend(records)


def accept_all(client: LabelStudioClient, project: int) -> None:
    """Annotators accept every proposal (annotations created through the API, one per task)."""
    for task_id in client.existing_tasks(project).values():
        result = client.sdk.predictions.list(task=task_id)[0].result
        client.sdk.annotations.create(id=task_id, result=result, was_cancelled=False, ground_truth=False)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def pull_baseline(client: LabelStudioClient, project: int, n: int) -> int:
    """One request per task (``tasks.get``), then the same conversion as ``pull``."""
    names = {c.name for c in CATS}
    done = 0
    for task_id in list(client.existing_tasks(project).values())[:n]:
        task = client.sdk.tasks.get(id=task_id)
        exported = {"id": task.id, "data": task.data, "annotations": [a if isinstance(a, dict) else a.dict()
                                                                      for a in task.annotations or []]}
        done += convert_task(exported, names, {}) is not None
    return done


def start_server(base: Path) -> tuple[str, Path, dict[str, str]]:
    import socket

    with socket.socket() as sock:  # a free port (the service script refuses a taken one)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "AVATAR_WORK_DIR": str(base / "work"), "LABEL_STUDIO_URL": f"http://127.0.0.1:{port}",
           "LOCAL_FILES_DOCUMENT_ROOT": str(base)}
    subprocess.run([sys.executable, str(REPO / "scripts" / "labelstudio.py"), "start"], env=env, check=True)
    return env["LABEL_STUDIO_URL"], base / "work" / "labelstudio" / "token", env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--url", default=None, help="a running Label Studio (default: start one in a temp dir)")
    parser.add_argument("--token-file", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=None, help="with --url: its LOCAL_FILES_DOCUMENT_ROOT")
    args = parser.parse_args()
    if args.url and not (args.token_file and args.root):
        parser.error("--url needs --token-file and --root (the server's LOCAL_FILES_DOCUMENT_ROOT)")
    base = Path(tempfile.mkdtemp(prefix="review_sync_", dir=args.root.resolve() if args.url else None))
    env = None
    if args.url:
        url, token_file = args.url, args.token_file
    else:
        url, token_file, env = start_server(base)
    try:
        rows = run(base, LabelStudioClient(url, token_file.read_text().strip(), timeout_s=600), args.tasks)
    finally:
        if env is not None:
            subprocess.run([sys.executable, str(REPO / "scripts" / "labelstudio.py"), "stop"], env=env, check=False)
    print(f"\n{'operation':<44} {'tasks':>6} {'seconds':>8} {'tasks/s':>8} {'vs baseline':>11}")
    for name, n, sec, base_rate in rows:
        ratio = f"{(n / sec) / base_rate:.1f}x" if base_rate else "baseline"
        print(f"{name:<44} {n:>6} {sec:>8.2f} {n / sec:>8.1f} {ratio:>11}")
    return 0


def run(base: Path, client: LabelStudioClient, n: int) -> list[tuple[str, int, float, float | None]]:
    small = max(10, n // 10)
    cfg = ReviewConfig(project=f"bench {os.getpid()}", categories=CATS, document_root=base, chunk_size=100)
    slow_cfg = ReviewConfig(project=f"bench one-by-one {os.getpid()}", categories=CATS, document_root=base,
                            chunk_size=1)
    make_proposals(base / "a", n, "sa")
    make_proposals(base / "b", small, "sb")
    t_slow, _ = timed(push, base / "b", slow_cfg, client)
    t_push, s = timed(push, base / "a", cfg, client)
    assert s.processed == n, s
    t_again, s = timed(push, base / "a", cfg, client)
    assert s.skipped == n, s
    accept_all(client, s.info["project_id"])
    t_base_pull, got = timed(pull_baseline, client, s.info["project_id"], small)
    t_pull, p = timed(pull, base / "a", base / "out", cfg, client)
    assert p.counts["merged"] == n and got == small, (p, got)
    t_repull, p = timed(pull, base / "a", base / "out", cfg, client)
    assert p.skipped == n, p
    push_base, pull_base = small / t_slow, small / t_base_pull
    return [("push baseline: 1 task per request", small, t_slow, None),
            ("push: 100 tasks per request", n, t_push, push_base),
            ("push again (all present: lookup only)", n, t_again, push_base),
            ("pull baseline: tasks.get per task + convert", small, t_base_pull, None),
            ("pull: JSON export + convert + merge", n, t_pull, pull_base),
            ("pull again (nothing changed)", n, t_repull, pull_base)]


if __name__ == "__main__":
    sys.exit(main())
