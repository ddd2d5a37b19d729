"""What the review's playback media cost at push time: the cut around each frame and the whole clip per video.

    python -m benchmarks.review_media [--videos 4] [--frames 5] [--workers 2]

Generated 10 s 640x360 H.264/AAC clips (a moving test pattern and a tone), ``--frames`` frames each, spread over
the clip. Rows: making every cut and clip (cold), the rerun that finds them (warm), and the floor measured in the
same run: ffmpeg decoding each clip once to nothing (``-f null``), the least any re-encode must do.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.layout import WorkDir
from pipeline.proposals.records import ProposalRecord
from pipeline.review.media import ReviewMedia


def make_clip(path: Path, seed: int) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=640x360:rate=25:duration=10,hue=h={seed * 40}", "-f", "lavfi", "-i",
                    f"sine=frequency={300 + 50 * seed}:duration=10", "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "aac", "-shortest", str(path)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="review_media_"))
    try:
        sources, rows = {}, []
        for v in range(args.videos):
            vid = f"bench{v:02d}_000000"
            sources[vid] = base / f"{vid}.mp4"
            make_clip(sources[vid], v)
            for k in range(args.frames):
                t = (k + 0.5) * 10 / args.frames
                rows.append(ProposalRecord(frame_id=f"{vid}/{int(t * 25):06d}", video_id=vid, image_path="",
                                           width=640, height=360, frame_index=int(t * 25), timestamp_s=t))
        durations = dict.fromkeys(sources, 10.0)
        t0 = time.perf_counter()
        for src in sources.values():
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(src), "-f", "null", "-"], check=True)
        floor = time.perf_counter() - t0
        media = ReviewMedia(WorkDir(base / "work"), workers=args.workers)
        t0 = time.perf_counter()
        made = media.prepare(rows, sources, durations)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = media.prepare(rows, sources, durations)
        warm = time.perf_counter() - t0
        assert len(made) == len(again) == len(rows), (len(made), len(rows))
        n = len(rows)
        print(f"\n{args.videos} clips of 10 s 640x360, {n} frames, {args.workers} ffmpeg workers\n")
        print(f"| {'operation':<52} | seconds | frames/s | vs floor |")
        print(f"|{'-' * 54}|---------|----------|----------|")
        for name, sec in (("floor: decode each clip once (ffmpeg -f null)", floor),
                          ("make every cut (2.5 s) and clip (cold push)", cold),
                          ("find them again (rerun: reused, nothing encoded)", warm)):
            print(f"| {name:<52} | {sec:>7.2f} | {n / sec:>8.1f} | {sec / floor:>7.2f}x |")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
