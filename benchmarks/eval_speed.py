"""Speed of ``avatar-eval`` at full AVATAR size against an LVS-style per-frame loop and the I/O floor.

    python -m benchmarks.eval_speed                  # 24,266 frames, 640x360 GT, 224x224 float32 heatmaps (.npz)
    python -m benchmarks.eval_speed --frames 2000    # a quick run

The data (synthetic GT from avatar_bench.testing.dummies and a model-like "blob" submission) is made once and
cached under --workdir. Each method then runs in a fresh subprocess, so its peak RSS is its own:

- io-floor:     json.load of the GT, then per frame: read the heatmap from the archive + decode the GT masks.
- avatar-eval:  AvatarDataset.load (validated) + evaluate(): validation of every heatmap, resize, exact
                LVS threshold, IoU, all metrics (with its default workers, and with 1 worker).
- lvs-loop:     per frame as LVS's test.py: the same read and decode, cv2.resize (INTER_LINEAR), a full
                np.sort for the median, LVS's CIoU formula; then CIoU/AUC.

Ratios are per-frame times against the floor measured in the same run. Run it on a quiet machine (the load
average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def prepare(workdir: Path, n: int, dtype: str) -> tuple[Path, Path]:
    from avatar_bench.submission import write_submission
    from avatar_bench.testing import make_gt, make_submission

    workdir.mkdir(parents=True, exist_ok=True)
    gt_path, sub_path = workdir / f"gt_{n}.json", workdir / f"sub_{n}_{dtype}.npz"
    if not gt_path.exists():
        t = time.perf_counter()
        make_gt(n, width=640, height=360, seed=0).save(gt_path)
        print(f"made {gt_path.name} in {time.perf_counter() - t:.1f} s")
    if not sub_path.exists():
        from avatar_bench.format import AvatarDataset

        t = time.perf_counter()
        gt = AvatarDataset.load(gt_path)
        write_submission(sub_path, make_submission(gt, "blob", size=(224, 224), seed=0, dtype=np.dtype(dtype)))
        print(f"made {sub_path.name} ({sub_path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
    return gt_path, sub_path


# ------------------------------------------------------------------------------------------ the methods
def _frames(gt_path: Path, limit: int | None):
    """(image, [sounding RLEs]) in file order, from plain JSON (no validation)."""
    d = json.loads(gt_path.read_text())
    anns: dict[int, list] = {}
    for a in d["annotations"]:
        if a["sounding"]:
            anns.setdefault(a["image_id"], []).append(a["segmentation"])
    images = d["images"][:limit] if limit else d["images"]
    return [(im, anns.get(im["id"], [])) for im in images]


_HEADERS: dict[bytes, tuple] = {}


def _read(zf: zipfile.ZipFile, image_id: int) -> np.ndarray:
    """Read one .npy member (header parses cached, as avatar-eval does: parsing is not I/O)."""
    with zf.open(f"{image_id}.npy") as fh:
        lead = fh.read(10)
        header = fh.read(int.from_bytes(lead[8:10], "little"))
        if header not in _HEADERS:
            import io

            buf = io.BytesIO(lead + header)
            np.lib.format.read_magic(buf)
            _HEADERS[header] = np.lib.format.read_array_header_1_0(buf)
        shape, fortran, dtype = _HEADERS[header]
        data = fh.read(int(np.prod(shape)) * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _gt_mask(segs: list, h: int, w: int) -> np.ndarray:
    from pycocotools import mask as mask_utils

    rles = [{"size": s["size"], "counts": s["counts"].encode()} for s in segs]
    if not rles:
        return np.zeros((h, w), np.uint8)
    return mask_utils.decode(rles[0] if len(rles) == 1 else mask_utils.merge(rles, intersect=False))


def run_floor(gt_path: Path, sub_path: Path, limit: int | None, workers: int | None) -> dict:
    total = 0.0
    with zipfile.ZipFile(sub_path) as zf:
        frames = _frames(gt_path, limit)
        for im, segs in frames:
            heat = _read(zf, im["id"])
            total += float(heat[0, 0]) + float(_gt_mask(segs, im["height"], im["width"])[0, 0])
    return {"frames": len(frames), "check": total}


def run_avatar_eval(gt_path: Path, sub_path: Path, limit: int | None, workers: int | None) -> dict:
    from avatar_bench.evaluate import evaluate
    from avatar_bench.format import AvatarDataset

    result = evaluate(AvatarDataset.load(gt_path), sub_path, workers=workers)
    return {"frames": result.summary["n_frames"], "workers": result.settings["workers"],
            "total_ciou": result.summary["total_ciou"], "total_auc": result.summary["total_auc"]}


def run_lvs(gt_path: Path, sub_path: Path, limit: int | None, workers: int | None) -> dict:
    import cv2

    from avatar_bench.metrics.functional import auc, ciou

    ious = []
    with zipfile.ZipFile(sub_path) as zf:
        frames = _frames(gt_path, limit)
        for im, segs in frames:
            heat = _read(zf, im["id"]).astype(np.float32)
            pred = cv2.resize(heat, (im["width"], im["height"]), interpolation=cv2.INTER_LINEAR)
            if im["scenario"] == "off_screen":
                pred.max()
                continue
            gtmap = _gt_mask(segs, im["height"], im["width"]).astype(np.float32)
            thr = np.sort(pred.flatten())[int(pred.shape[0] * pred.shape[1] / 2)]
            infer = ((pred > thr) | (pred == pred.max())).astype(np.float32)
            ious.append(np.sum(infer * gtmap) / (np.sum(gtmap) + np.sum(infer * (gtmap == 0))))
    ious = np.array(ious)
    return {"frames": len(frames), "total_ciou": ciou(ious), "total_auc": auc(ious)}


METHODS = {"io-floor": run_floor, "avatar-eval": run_avatar_eval, "lvs-loop": run_lvs}


def measure(method: str, gt: Path, sub: Path, limit: int | None, workers: int | None) -> dict:
    """Run one method in this (fresh) process; report wall time and peak RSS."""
    start = time.perf_counter()
    out = METHODS[method](gt, sub, limit, workers)
    out["seconds"] = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_seconds"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # robust to a busy machine
    out["rss_mb"] = me.ru_maxrss / 1024
    out["child_rss_mb"] = kids.ru_maxrss / 1024
    return out


def run_subprocess(method: str, gt: Path, sub: Path, limit: int | None, workers: int | None) -> dict:
    me = ["-m", __spec__.name] if __spec__ is not None else [__file__]  # the child runs the way this one does
    cmd = [sys.executable, *me, "--_measure", method, "--_gt", str(gt), "--_sub", str(sub)]
    cmd += ["--_limit", str(limit or 0)] + (["--workers", str(workers)] if workers else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(rows: list[tuple[str, dict]]) -> None:
    floor = min(r["seconds"] / r["frames"] for name, r in rows if name.startswith("io-floor"))
    lvs = next((r["seconds"] / r["frames"] for name, r in rows if name == "lvs-loop"), float("nan"))
    print(f"\n{'method':<24}{'frames':>7}{'wall s':>8}{'frames/s':>9}{'x floor':>8}{'LVS/x':>7}{'CPU s':>8}"
          f"{'peak RSS MB':>14}   check")
    for name, r in rows:
        per = r["seconds"] / r["frames"]
        rss = f"{r['rss_mb']:.0f}" + (f" +{r['child_rss_mb']:.0f}/w" if r.get("workers", 1) > 1 else "")
        check = f"CIoU {r['total_ciou']:.2f} AUC {r['total_auc']:.2f}" if "total_ciou" in r else ""
        print(f"{name:<24}{r['frames']:>7}{r['seconds']:>8.2f}{1 / per:>9.0f}{per / floor:>8.2f}"
              f"{lvs / per:>7.1f}{r['cpu_seconds']:>8.1f}{rss:>14}   {check}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=24_266, help="GT frames (default: full AVATAR test size)")
    p.add_argument("--lvs-frames", type=int, default=None, help="time the LVS loop on the first N frames only")
    p.add_argument("--workers", type=int, default=None, help="avatar-eval workers (default: its own choice)")
    p.add_argument("--dtype", default="float32", choices=("float16", "float32"))
    p.add_argument("--workdir", type=Path, default=REPO / ".cache" / "eval_speed")
    p.add_argument("--_measure", help=argparse.SUPPRESS)
    p.add_argument("--_gt", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--_sub", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--_limit", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._measure:
        print(json.dumps(measure(args._measure, args._gt, args._sub, args._limit or None, args.workers)))
        return
    gt, sub = prepare(args.workdir, args.frames, args.dtype)
    print(f"load average before timing: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    with open(sub, "rb") as fh:  # warm the page cache so no method pays the first disk read
        while fh.read(1 << 24):
            pass
    auto = run_subprocess("avatar-eval", gt, sub, None, args.workers)
    rows = [("io-floor", run_subprocess("io-floor", gt, sub, None, None)),
            (f"avatar-eval ({auto['workers']} worker{'s' if auto['workers'] > 1 else ''})", auto),
            ("avatar-eval (1 worker)", run_subprocess("avatar-eval", gt, sub, None, 1)),
            ("lvs-loop", run_subprocess("lvs-loop", gt, sub, args.lvs_frames, None)),
            ("io-floor (again)", run_subprocess("io-floor", gt, sub, None, None))]
    report(rows)
    print(f"load average after timing: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
