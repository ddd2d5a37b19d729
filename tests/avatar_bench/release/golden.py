"""A seeded release folder with every polygon shape the importer meets, and its imported output kept as a golden file.

The golden files in ``data/`` were written by the importer of commit ca52cd1 (one ``frPyObjects`` call per
annotation); the faster importer must write the same bytes (``test_golden.py``). Regenerate them only when the
output is meant to change, and bump ``IMPORT_VERSION`` then::

    PYTHONPATH=$PWD .venv/bin/python -m tests.avatar_bench.release.golden

Shapes: convex, concave and self-intersecting polygons, dense ones (41 to 300 points, past
``frames.SMALL_POLYGON``), rings with a hole (outer and inner polygon of one annotation), several parts per
instance, points outside the frame (clipped), integer, string and boolean coordinates, a flat polygon without
the outer list, degenerate polygons (2 points, collinear, one repeated point, odd length, NaN, Infinity, nested
junk), polygons that cover no pixel, uncompressed and compressed RLEs, off-screen frames with and without
masks, several frame sizes, kept extra keys and missing images. The release is written by the fixture code of
the tree it runs in: to regenerate with the old importer, run this module from a checkout of the old commit
with this file copied in (``git archive ca52cd1 | tar -x -C DIR``).
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SIZES = [(64, 48), (64, 48), (64, 48), (96, 80), (33, 17)]
FOLDERS = ["-x_y-z12345_00030", "abcdefghijk_00010", "b_b_b_b_b_b_00000", "zzzzzzzzzzz_00125", "Q1w2E3r4T5y_00007"]
TASKS = {"single": ["Single-sound", "single sound", "SINGLE_SOUND"], "mixed": ["Mixed-sound", "mixed_sound"],
         "multi_entity": ["Multi-entity", "multi entity"], "off_screen": ["Off-Screen", "offscreen"]}
CATS = ["dog", "cat", "bird", "piano", "car engine", "baby"]


def _ring(rng: random.Random, cx: float, cy: float, r: float, n: int, wobble: float) -> list[float]:
    pts = []
    for k in range(n):
        a, rr = 2 * math.pi * k / n, r * (1 + wobble * (rng.random() - 0.5))
        pts += [round(cx + rr * math.cos(a), rng.choice([0, 1, 2, 6])), round(cy + rr * math.sin(a), 3)]
    return pts


def _shape(rng: random.Random, w: int, h: int) -> list:
    """One annotation's segmentation: a list of polygons, mostly usable, sometimes degenerate or odd."""
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, min(w, h) / 2)
    kind = rng.choice(["convex", "convex", "star", "ring", "parts", "bowtie", "outside", "ints", "square",
                       "degenerate", "degenerate", "tiny", "strings", "flat", "huge", "dense", "dense"])
    if kind == "convex":
        return [_ring(rng, cx, cy, r, rng.randint(3, 40), 0.1)]
    if kind == "star":
        return [_ring(rng, cx, cy, r, 2 * rng.randint(3, 12), 1.2)]
    if kind == "ring":  # COCO polygons hold no hole: the inner polygon is merged into the outer one
        return [_ring(rng, cx, cy, r, 24, 0.0), _ring(rng, cx, cy, r / 2, 12, 0.0)]
    if kind == "parts":
        return [_ring(rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1, 8), rng.randint(3, 9), 0.5)
                for _ in range(rng.randint(2, 4))]
    if kind == "bowtie":
        return [[cx - r, cy - r, cx + r, cy + r, cx + r, cy - r, cx - r, cy + r]]
    if kind == "outside":
        return [_ring(rng, rng.choice([-3.0, w + 2.5, w / 2]), rng.choice([-1.5, h + 4.0, h / 2]), r + 5, 9, 0.3)]
    if kind == "dense":  # past SMALL_POLYGON coordinates (numpy's checks): inside, outside, odd values
        pts = _ring(rng, cx, cy, r + rng.choice([0, 0, 9]), rng.randint(41, 300), 0.3)
        bad = rng.choice([None, None, "text", "nan", "int", "bool"])
        if bad:
            pts[rng.randrange(len(pts))] = {"text": "3.5", "nan": float("nan"), "int": 7, "bool": True}[bad]
        return [pts]
    if kind == "ints":
        return [[int(v) for v in _ring(rng, cx, cy, r, rng.randint(3, 8), 0.4)]]
    if kind == "square":
        x, y = rng.randint(0, w - 4), rng.randint(0, h - 4)
        return [[x - 0.5, y - 0.5, x + 3.5, y - 0.5, x + 3.5, y + 3.5, x - 0.5, y + 3.5]]
    if kind == "degenerate":
        return [rng.choice([[1.0, 2.0, 3.0, 4.0], [], [5.0, 5.0, 5.0, 5.0, 5.0, 5.0], [0, 0, 10, 10, 20, 20],
                            [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, float("nan"), 3.0, 4.0, 5.0, 6.0],
                            [1.0, 2.0, float("inf"), 4.0, 5.0, 6.0], [[1, 2], [3, 4], [5, 6]], [{"x": 1}, 2, 3]]),
                _ring(rng, cx, cy, r, 7, 0.2)]
    if kind == "tiny":  # covers no pixel centre
        x, y = rng.randint(1, w - 2), rng.randint(1, h - 2)
        return [[x + 0.1, y + 0.1, x + 0.3, y + 0.1, x + 0.2, y + 0.3]]
    if kind == "strings":
        return [[str(v) if k % 3 == 0 else v for k, v in enumerate(_ring(rng, cx, cy, r, 5, 0.2))]]
    if kind == "flat":
        return _ring(rng, cx, cy, r, 6, 0.3)  # one polygon without the outer list
    return [[-1e6, -1e6, 1e6, -1e6, 1e6, 1e6, True, 1e6]]  # "huge": clipped to the frame, a bool coordinate


def _rle(rng: random.Random, w: int, h: int) -> dict:
    n, counts, left = w * h, [], w * h
    while left > 0:
        run = min(left, rng.randint(0, n // 4))
        counts.append(run)
        left -= run
    if rng.random() < 0.5:
        return {"size": [h, w], "counts": counts}
    from pycocotools import mask as mask_utils

    return {"size": [h, w], "counts": mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)["counts"]
            .decode("ascii")}


def _annotation(rng: random.Random, task: str, cat: str, w: int, h: int, off: bool) -> dict:
    ann: dict = {"audio_visual_category": cat, "task": task, "bbox": [0, 0, 1, 1]}
    roll = rng.random()
    if off:
        if roll < 0.3:
            ann["segmentation"] = _shape(rng, w, h)  # an off-screen mask, ignored
        return ann
    if roll < 0.06:
        ann["segmentation"] = rng.choice([None, [], [[]]])
    elif roll < 0.14:
        ann["segmentation"] = _rle(rng, w, h)
    elif roll > 0.07:
        ann["segmentation"] = _shape(rng, w, h)
    if rng.random() < 0.3:
        ann["instance_id"], ann["tool"] = rng.randint(0, 999), {"name": "sam", "points": [1, 2]}
    return ann


def _frame(rng: random.Random, w: int, h: int) -> dict:
    scenario = rng.choice(list(TASKS))
    task = rng.choice(TASKS[scenario])
    n = {"single": rng.choice([1, 1, 1, 2]), "mixed": rng.randint(1, 3), "multi_entity": rng.choice([1, 2]),
         "off_screen": rng.randint(1, 2)}[scenario]
    cats = [rng.choice(CATS) for _ in range(n)]
    anns = [_annotation(rng, task, c, w, h, scenario == "off_screen") for c in cats]
    d = {"original_width": w, "original_height": h, "annotations": anns}
    if rng.random() < 0.25:
        d["source_frame"], d["note"] = rng.randint(0, 300), "kept"
    if rng.random() < 0.03:
        d["annotations"] = []
    return d


def write_golden_release(root: Path, seed: int = 12, frames_per_folder: int = 40) -> Path:
    """Write the seeded release under ``root`` (returned): 5 folders, 200 frames, jpgs beside most JSONs."""
    rng = random.Random(seed)
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
        w, h = rng.choice(SIZES)
        for k in sorted(rng.sample(range(0, 300), frames_per_folder)):
            size = (w, h) if rng.random() < 0.9 else rng.choice(SIZES)
            path = root / folder / f"{k:05d}.json"
            path.write_text(json.dumps(_frame(rng, *size)), encoding="utf-8")  # NaN, Infinity as Python writes
            if rng.random() < 0.93:
                path.with_suffix(".jpg").touch()
    return root


ERROR_FRAMES = {  # added to the golden release for the error golden: every error the importer reports
    "abcdefghijk_00010/00400.json": b'{"original_width": 64, "original_height": 48, "annotations": [',
    "abcdefghijk_00010/00401.json": b'{"original_width": 64, "annotations": []}',
    "abcdefghijk_00010/00402.json": b'{"original_width": 64, "original_height": 48, "annotations": [{"task": '
                                    b'"Duet", "audio_visual_category": "dog"}]}',
    "abcdefghijk_00010/00403.json": b'{"original_width": 64, "original_height": 48, "annotations": [{"task": '
                                    b'"Single-sound", "audio_visual_category": "dog", "segmentation": "x"}]}',
    "abcdefghijk_00010/00404.json": b'[1, 2]',
    "abcdefghijk_00010/00405.json": b'{"original_width": 64.5, "original_height": 48, "annotations": []}',
    "abcdefghijk_00010/00406.json": b'{"original_width": 64, "original_height": 48, "annotations": [{"task": '
                                    b'"Single-sound", "audio_visual_category": "dog"}, {"task": "Mixed-sound", '
                                    b'"audio_visual_category": "cat"}]}',
    "abcdefghijk_00010/00407.json": b'{"original_width": 64, "original_height": 48, "annotations": [{"task": '
                                    b'"Single-sound", "audio_visual_category": "dog", "segmentation": '
                                    b'{"size": [4, 4], "counts": "abc"}}]}',
    "abcdefghijk_00010/00408.json": b'\xef\xbb\xbf{"original_width": 64, "original_height": 48, "annotations": '
                                    b'[{"task": "Off-Screen", "audio_visual_category": "dog"}]}',
    "abcdefghijk_00010/00409.json": b'{"original_width": 64, "original_height": 48, "annotations": [{"task": '
                                    b'"Silence", "audio_visual_category": "dog"}], "x": 1e400}',
}


def golden_outputs(root: Path, out: Path) -> tuple[bytes, list[str], list[str]]:
    """Import the golden release: the saved test.json's bytes, the warnings, and the errors once the error
    frames are added (``root`` is changed by that)."""
    from avatar_bench.errors import ReleaseError
    from avatar_bench.release import import_release

    result = import_release(root)
    result.dataset.save(out)
    warnings = [f"{p.code} {p}" for p in result.warnings]
    for rel, data in ERROR_FRAMES.items():
        (root / rel).write_bytes(data)
    try:
        import_release(root)
        errors = ["no error"]
    except ReleaseError as exc:
        errors = [str(exc).splitlines()[0], *exc.problems]
    return out.read_bytes(), warnings, errors


def main(argv: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = write_golden_release(Path(tmp) / "metadata")
        data, warnings, errors = golden_outputs(root, Path(tmp) / "test.json")
    DATA.mkdir(exist_ok=True)
    (DATA / "golden_import.json").write_bytes(data)
    report = {key: [line.replace(tmp, "<tmp>") for line in lines] for key, lines in
              (("warnings", warnings), ("errors", errors))}
    (DATA / "golden_problems.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {DATA}: {len(data):,} bytes, {len(warnings)} warnings, {len(errors)} error lines")


if __name__ == "__main__":
    main(sys.argv[1:])
