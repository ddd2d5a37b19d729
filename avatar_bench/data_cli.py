"""``avatar-data``: dataset tools — import the released AVATAR benchmark, describe any AVATAR-COCO file.

    avatar-data import-release METADATA_DIR --out test.json [--videos DIR] [--frames DIR]
                               [--task-map 'Some-string=mixed' ...] [--report report.json] [--brief] [-q] [--json]
    avatar-data info FILE [--brief] [--json]

--json prints one JSON object on stdout (the table and problems go to stderr).
Exit status: 0 done, 2 bad input (every error listed, each naming its file; nothing written), 130 interrupted.
Imports stay light: numpy and pycocotools; PyAV only with --videos (``pip install -e '.[release]'``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from avatar_bench.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avatar-data", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import-release", help="convert the released benchmark's metadata folder to AVATAR-COCO")
    imp.add_argument("metadata", help="the release's metadata folder (<youtube_id>_<start>/<frame>.json)")
    imp.add_argument("--out", required=True, help="AVATAR-COCO file to write (e.g. test.json)")
    imp.add_argument("--videos", help="folder of <youtube_id>_<start>.mp4: fps, duration, timestamps (needs PyAV)")
    imp.add_argument("--frames", help="root of a parallel tree of frame images (default: beside the JSONs, "
                                      "else METADATA_DIR/../frames)")
    imp.add_argument("--task-map", action="append", default=[], metavar="STRING=SCENARIO",
                     help="read a task string as a scenario (single, mixed, multi_entity, off_screen); repeatable")
    imp.add_argument("--report", help="also write the summary and every problem as JSON here")
    imp.add_argument("--brief", action="store_true", help="print at most 20 problems of each kind (default: all)")
    imp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    imp.add_argument("--json", action="store_true", help="print one JSON object (summary, import, problems) on stdout; "
                     "the table goes to stderr")
    info = sub.add_parser("info", help="describe an AVATAR-COCO file: counts, scenarios, problems")
    info.add_argument("file", help="AVATAR-COCO file")
    info.add_argument("--brief", action="store_true", help="print at most 20 problems (default: all)")
    info.add_argument("--json", action="store_true", help="print one JSON object (summary, problems) on stdout; "
                      "the table goes to stderr")
    return p


def _import(args) -> int:
    from avatar_bench.dataset_info import format_summary, summarize
    from avatar_bench.io import atomic_write_json
    from avatar_bench.release import import_release, parse_task_map
    from avatar_bench.release.problems import format_problems

    result = import_release(args.metadata, videos=args.videos, frames=args.frames,
                            task_map=parse_task_map(args.task_map), progress=not args.quiet)
    ds = result.dataset
    ds.validate(source=f"import of {args.metadata}")
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the object alone
    summary = summarize(ds)
    imp = ds.info["import"]
    text = [format_summary(summary, title=f"{args.metadata}: images {imp['images']}; timestamps {imp['timestamps']}")]
    if result.frame_check:
        fc = result.frame_check
        text.append(f"frame numbers vs videos: {fc['frames_checked']:,} frame(s) of {fc['videos_probed']:,} video(s) "
                    f"checked, {fc['frames_beyond_video']:,} past their video's frame count "
                    f"(max frame / frame count {fc['max_frame_over_frame_count']})")
    lines = format_problems(result.warnings, per_code=20 if args.brief else None)
    text += [f"{len(result.warnings)} warning(s)" + (":" if lines else ""), *lines]
    print("\n".join(text), file=out)
    ds.save(args.out)
    report = {"summary": summary, "import": imp, "frame_check": result.frame_check, "problems": [
        {"code": p.code, "path": p.path, "detail": p.detail} for p in result.warnings]}
    if args.report:
        atomic_write_json(args.report, report, indent=1)
    print(f"wrote {args.out} ({len(ds.images):,} frames)" + (f" and {args.report}" if args.report else ""), file=out)
    if args.json:
        print(json.dumps({**report, "out": str(args.out)}, indent=1, allow_nan=False))
    return 0


def _info(args) -> int:
    from avatar_bench.checks import scenario_problems
    from avatar_bench.dataset_info import format_summary, summarize
    from avatar_bench.format import AvatarDataset

    ds = AvatarDataset.load(args.file, validate=False)
    summary = summarize(ds)
    problems = ds.problems()
    problems += [] if problems else scenario_problems(ds)  # the scenario rule needs sound ids and masks
    shown = problems[:20] if args.brief else problems
    text = [format_summary(summary, title=args.file), f"{len(problems)} problem(s)" + (":" if problems else ""),
            *(f"  {line}" for line in shown)]
    if len(shown) < len(problems):
        text.append(f"  ... and {len(problems) - len(shown)} more (without --brief: all)")
    print("\n".join(text), file=sys.stderr if args.json else sys.stdout)  # with --json, stdout holds the object
    if args.json:
        print(json.dumps({"file": str(args.file), "summary": summary, "problems": [str(p) for p in problems]},
                         indent=1, allow_nan=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``avatar-data``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="avatar-data: %(levelname)s: %(message)s")
    if args.command == "import-release":
        from avatar_bench.release.importer import gc_paused

        def command() -> int:
            with gc_paused():  # the import, its validation and the write build many small records
                return _import(args)
        return run_cli("avatar-data", command)
    return run_cli("avatar-data", lambda: _info(args))

if __name__ == "__main__":
    sys.exit(main())
