"""Speed of ``avatar-data import-release`` at full AVATAR size against the floor of reading and parsing the files.

    python benchmarks/import_release.py                 # 24,266 frame JSONs in 4,854 folders (AVATAR's size)
    python benchmarks/import_release.py --frames 2000   # a quick run

The release is generated once under --workdir from synthetic ground truth (avatar_bench.testing.dummies,
640x360 masks written as pixel-edge polygons by avatar_bench.testing.release_fixture, an empty .jpg beside each
JSON). Each method then runs in a fresh subprocess, several times, and the best time counts (the files are in
the page cache for every method):

- floor:         list the folders (os.scandir), read every frame JSON (open().read()) and json.loads it.
- fast floor:    the same with the importer's own reader and parser (avatar_bench.release.fastread: os.read,
                 orjson with json.loads's results): what any importer written this way must spend.
- + pycocotools: the fast floor plus what pycocotools must do for the masks: every polygon to RLE
                 (frPyObjects), one merge per multi-polygon instance, area and box; no check, no record.
- import:        import_release(): the same listing and reading, plus every check, polygon -> RLE
                 (pycocotools), the AVATAR-COCO records and the report. One process. The dataset it returns
                 is freed after the clock stops (a caller keeps it).
- import+write:  `avatar-data import-release META --out test.json -q` itself: the import, the validation of
                 the result (AvatarDataset.validate), the report, and writing test.json (atomic, compact).
- cached load:   load_release() on a warm cache: read + hash every JSON, then load the cached AVATAR-COCO file.

Wall and CPU seconds are both reported (best of --repeats each, the methods taking turns): on a shared machine
the CPU time of the process is the steadier measure. Goal (issue 12): import <= 2x the floor and under 60 s on
2 cores. The load average is printed. ``--baseline DIR`` (a checkout of another commit, e.g. from
``git archive``) times that tree's import in the same run and checks that both write the same test.json.
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
sys.path.insert(0, os.environ.get("BENCH_TREE", str(REPO)))  # the tree whose avatar_bench is timed


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
    """The floor's listing with the importer's reading and parsing (os.read, orjson); with ``rasterise``, plus what
    pycocotools must do for the masks: every polygon as given to RLE, one merge per multi-polygon instance, area
    and box."""
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


def _import(meta: Path):
    from avatar_bench.release import import_release

    return import_release(meta).dataset  # freed after the clock stops: a caller keeps it


def _cli(meta: Path, out: Path) -> int:
    import contextlib
    import io

    from avatar_bench.data_cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["import-release", str(meta), "--out", str(out), "-q"]) == 0
    return int(printed.getvalue().rsplit("(", 1)[1].split()[0].replace(",", ""))  # "wrote test.json (24,266 frames)"


def _cached(meta: Path):
    from avatar_bench.release import load_release

    ds, info = load_release(meta)
    assert info.cached, "the cache was not warm"
    return ds


def run_method(method: str, meta: str, out: str) -> None:
    """In a subprocess: time one method, print '<wall s> <CPU s> <frames>' (modules imported before the clock)."""
    if method != "floor":
        import avatar_bench.data_cli  # noqa: F401  (numpy, pycocotools, the package: not part of the work timed)
        import avatar_bench.release  # noqa: F401
    t = time.perf_counter()
    c = time.process_time()
    got = {"floor": lambda: _floor(Path(meta)), "fast floor": lambda: _fast_floor(Path(meta)),
           "+ pycocotools": lambda: _fast_floor(Path(meta), rasterise=True), "import": lambda: _import(Path(meta)),
           "import+write": lambda: _cli(Path(meta), Path(out)), "cached load": lambda: _cached(Path(meta))}[method]()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"{wall:.4f} {cpu:.4f} {got if isinstance(got, int) else len(got.images)}")


METHODS = ("floor", "fast floor", "+ pycocotools", "import", "import+write", "cached load")


def _once(tree: Path, method: str, meta: Path, out: Path, env: dict) -> tuple[float, float, int]:
    """One timed run of ``method`` in a fresh process, this script's method timed on ``tree``'s code."""
    got = subprocess.run([sys.executable, __file__, "--run", method, str(meta), str(out)], check=True,
                         capture_output=True, text=True,
                         env={**env, "BENCH_TREE": str(tree), "PYTHONPATH": str(tree)}).stdout.split()
    return float(got[0]), float(got[1]), int(got[2])


def _time(rows: list[tuple[str, Path, str]], meta: Path, out: Path, repeats: int, env: dict) -> list[tuple]:
    """Best wall and CPU time of each ``(label, tree, method)``, the rows taking turns (a shared machine's load
    then weighs on all alike)."""
    best = {label: (float("inf"), float("inf"), 0) for label, _, _ in rows}
    for _ in range(repeats):
        for label, tree, method in rows:
            wall, cpu, n = _once(tree, method, meta, out, env)
            best[label] = (min(best[label][0], wall), min(best[label][1], cpu), n)
    return [(label, *best[label]) for label, _, _ in rows]


def _print(rows: list[tuple], meta: Path, out: Path) -> None:
    floor_wall, floor_cpu, fast_cpu = rows[0][1], rows[0][2], rows[1][2]
    print(f"\n{'method':<20}{'frames':>8}{'wall s':>9}{'frames/s':>10}{'x floor':>9}{'CPU s':>8}{'x floor':>9}"
          f"{'x fast floor':>14}")
    print("-" * 87)
    for method, wall, cpu, n in rows:
        print(f"{method:<20}{n:>8}{wall:>9.2f}{n / wall:>10,.0f}{wall / floor_wall:>9.2f}{cpu:>8.2f}"
              f"{cpu / floor_cpu:>9.2f}{cpu / fast_cpu:>14.2f}")
    size = sum(f.stat().st_size for f in meta.glob("*/*.json"))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; frame JSONs {size / 1e6:.1f} MB, "
          f"test.json {out.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=24266)
    p.add_argument("--workdir", type=Path, default=REPO / ".cache" / "bench_import_release")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--simplify", type=float, default=0.0,
                   help="polygon simplification in pixels (0: exact pixel-edge outlines, the densest polygons)")
    p.add_argument("--baseline", type=Path, help="a checkout of another commit: its import is timed too, "
                   "and the two test.json files are compared byte for byte")
    p.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        run_method(*args.run)
        return
    meta = prepare(args.workdir, args.frames, args.simplify)
    env = {**os.environ, "AVATAR_HOME": str(args.workdir / "home")}
    out = args.workdir / "test.json"
    _once(REPO, "floor", meta, out, env)  # warm the page cache
    _once(REPO, "import+write", meta, out, env)  # write this tree's test.json
    subprocess.run([sys.executable, "-c", "import sys; from avatar_bench.release import load_release; "
                    "load_release(sys.argv[1])", str(meta)], check=True, env={**env, "PYTHONPATH": str(REPO)})
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; best of {args.repeats}")
    rows = [(m, REPO, m) for m in METHODS]
    if args.baseline:
        base_out = args.workdir / "test.baseline.json"
        _once(args.baseline.resolve(), "import+write", meta, base_out, env)
        same = base_out.read_bytes() == out.read_bytes()
        print(f"test.json of {args.baseline}: {'identical' if same else 'DIFFERENT'} to this tree's")
        rows[4:4] = [("import (baseline)", args.baseline.resolve(), "import")]
    _print(_time(rows, meta, out, args.repeats, env), meta, out)


if __name__ == "__main__":
    main()
