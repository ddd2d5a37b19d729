"""Speed of ``avatar-data import-release`` at full AVATAR size against the floor of reading and parsing the files.

    python benchmarks/import_release.py                 # 24,266 frame JSONs in 4,854 folders (AVATAR's size)
    python benchmarks/import_release.py --frames 2000   # a quick run

The release is generated once under --workdir from synthetic ground truth (avatar_bench.testing.dummies,
640x360 masks written as pixel-edge polygons by avatar_bench.testing.release_fixture, an empty .jpg beside each
JSON). Each method then runs in a fresh subprocess, several times, and the best time counts (the files are in
the page cache for every method):

- floor:         list the folders (os.scandir), read every frame JSON and json.loads it; nothing else.
- import:        import_release(): the same listing and reading, plus every check, polygon -> RLE
                 (pycocotools), the AVATAR-COCO records and the report. One process.
- import+write:  `avatar-data import-release META --out test.json -q` itself: the import, the validation of
                 the result (AvatarDataset.validate), the report, and writing test.json (atomic, compact).
- cached load:   load_release() on a warm cache: read + hash every JSON, then load the cached AVATAR-COCO file.

Wall and CPU seconds are both reported (best of --repeats each): on a shared machine the CPU time of the
process is the steadier measure. Goal (issue 12): import <= 2x the floor and under 60 s on 2 cores. The load
average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def prepare(workdir: Path, n: int, simplify: float) -> Path:
    from avatar_bench.testing import make_gt
    from avatar_bench.testing.release_fixture import write_release

    root = workdir / (f"release_{n}" + (f"_simplify{simplify:g}" if simplify else ""))
    done = root / ".complete"
    if not done.exists():
        t = time.perf_counter()
        write_release(make_gt(n, width=640, height=360, seed=0), root, images="placeholder", simplify=simplify)
        done.touch()
        print(f"wrote {n} frame JSONs under {root} in {time.perf_counter() - t:.1f} s")
    return root / "metadata"


def _floor(meta: Path) -> int:
    n = 0
    with os.scandir(meta) as folders:
        for folder in folders:
            with os.scandir(folder.path) as files:
                for f in files:
                    if f.name.endswith(".json"):
                        with open(f.path, "rb") as fh:
                            json.loads(fh.read())
                        n += 1
    return n


def _fast_floor(meta: Path, rasterise: bool = False) -> int:
    """The importer's own listing, reading and parsing (os.read, orjson); with ``rasterise``, plus what pycocotools
    must do for the masks: every polygon as given to RLE, one merge per multi-polygon instance, area and box."""
    from pycocotools import mask as mask_utils

    from avatar_bench.release.fastread import loads, read_bytes

    n, rles = 0, []
    with os.scandir(meta) as folders:
        for folder in folders:
            with os.scandir(folder.path) as files:
                for f in files:
                    if f.name.endswith(".json"):
                        d = loads(read_bytes(f.path))
                        n += 1
                        if rasterise and d["annotations"][0]["task"] != "Off-Screen":
                            h, w = d["original_height"], d["original_width"]
                            for a in d["annotations"]:
                                r = mask_utils.frPyObjects(a["segmentation"], h, w)
                                rles.append(r[0] if len(r) == 1 else mask_utils.merge(r))
    for i in range(0, len(rles), 255):
        mask_utils.area(rles[i:i + 255]), mask_utils.toBbox(rles[i:i + 255])
    return n


def _import(meta: Path) -> int:
    from avatar_bench.release import import_release

    return len(import_release(meta).dataset.images)


def _cli(meta: Path, out: Path) -> int:
    import contextlib
    import io

    from avatar_bench.data_cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["import-release", str(meta), "--out", str(out), "-q"]) == 0
    return int(printed.getvalue().rsplit("(", 1)[1].split()[0].replace(",", ""))  # "wrote test.json (24,266 frames)"


def _cached(meta: Path) -> int:
    from avatar_bench.release import load_release

    ds, info = load_release(meta)
    assert info.cached, "the cache was not warm"
    return len(ds.images)


def run_method(method: str, meta: str, out: str) -> None:
    """In a subprocess: time one method, print '<wall s> <CPU s> <frames>' (modules imported before the clock)."""
    if method != "floor":
        import avatar_bench.data_cli  # noqa: F401  (numpy, pycocotools, the package: not part of the work timed)
        import avatar_bench.release  # noqa: F401
    t = time.perf_counter()
    c = time.process_time()
    n = {"floor": lambda: _floor(Path(meta)), "fast floor": lambda: _fast_floor(Path(meta)),
         "+ pycocotools": lambda: _fast_floor(Path(meta), rasterise=True), "import": lambda: _import(Path(meta)),
         "import+write": lambda: _cli(Path(meta), Path(out)), "cached load": lambda: _cached(Path(meta))}[method]()
    print(f"{time.perf_counter() - t:.4f} {time.process_time() - c:.4f} {n}")


def _time(method: str, meta: Path, out: Path, repeats: int, env: dict) -> tuple[float, float, int]:
    wall, cpu, n = float("inf"), float("inf"), 0
    for _ in range(repeats):
        got = subprocess.run([sys.executable, __file__, "--run", method, str(meta), str(out)], check=True,
                             capture_output=True, text=True, env=env).stdout.split()
        wall, cpu, n = min(wall, float(got[0])), min(cpu, float(got[1])), int(got[2])
    return wall, cpu, n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=24266)
    p.add_argument("--workdir", type=Path, default=REPO / ".cache" / "bench_import_release")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--simplify", type=float, default=0.0,
                   help="polygon simplification in pixels (0: exact pixel-edge outlines, the densest polygons)")
    p.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        run_method(*args.run)
        return
    meta = prepare(args.workdir, args.frames, args.simplify)
    env = {**os.environ, "AVATAR_HOME": str(args.workdir / "home"), "PYTHONPATH": str(REPO)}
    out = args.workdir / "test.json"
    subprocess.run([sys.executable, __file__, "--run", "floor", str(meta), str(out)], check=True, env=env,
                   capture_output=True)  # warm the page cache
    subprocess.run([sys.executable, "-c", "import sys; from avatar_bench.release import load_release; "
                    "load_release(sys.argv[1])", str(meta)], check=True, env=env)  # warm the import cache
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; best of {args.repeats}")
    rows = [(m, *_time(m, meta, out, args.repeats, env))
            for m in ("floor", "fast floor", "+ pycocotools", "import", "import+write", "cached load")]
    floor_wall, floor_cpu = rows[0][1], rows[0][2]
    print(f"\n{'method':<14}{'frames':>8}{'wall s':>9}{'frames/s':>10}{'x floor':>9}{'CPU s':>8}{'x floor':>9}")
    print("-" * 67)
    for method, wall, cpu, n in rows:
        print(f"{method:<14}{n:>8}{wall:>9.2f}{n / wall:>10,.0f}{wall / floor_wall:>9.2f}{cpu:>8.2f}"
              f"{cpu / floor_cpu:>9.2f}")
    size = sum(f.stat().st_size for f in meta.glob("*/*.json"))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; frame JSONs {size / 1e6:.1f} MB, "
          f"test.json {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
