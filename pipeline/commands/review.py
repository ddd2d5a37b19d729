"""``avatar-pipeline review push|pull|status``: Label Studio review of a batch's proposals."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.settings import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["push", "pull", "status"],
                        help="push: send proposals as tasks; pull: merge verified annotations; status: progress")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="the batch's work folder (manifests/proposals.parquet); default $AVATAR_WORK_DIR")
    parser.add_argument("--project", default="AVATAR review", help="Label Studio project title (found or created)")
    parser.add_argument("--categories", type=Path, default=None,
                        help="category list: taxonomy YAML or an AVATAR-COCO JSON (default annotations/taxonomy.yaml)")
    parser.add_argument("--out", type=Path, default=None,
                        help="pull: folder of the split files to merge into (default <AVATAR_WORK_DIR>/annotations); "
                             "push --dry-run: the tasks file (default <work>/tasks.json)")
    parser.add_argument("--dry-run", action="store_true",
                        help="push: write the tasks it would send (strict JSON) to --out; no server is contacted")
    parser.add_argument("--document-root", type=Path, default=None,
                        help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT (default: that variable, else the work dir)")
    parser.add_argument("--chunk-size", type=int, default=100, help="push: tasks per import request")
    parser.add_argument("--no-playback", action="store_true",
                        help="push: no cut around each frame and no whole clip (frames only; ffmpeg not needed)")
    parser.add_argument("--cut-seconds", type=float, default=2.5, help="push: length of the cut around each frame")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _config(args: argparse.Namespace):
    from pipeline.review import ReviewConfig, load_categories

    return ReviewConfig(project=args.project, categories=load_categories(args.categories),
                        document_root=args.document_root, chunk_size=args.chunk_size,
                        playback=not args.no_playback, cut_s=args.cut_seconds)


def _text(action: str, s: dict[str, Any]) -> str:
    if action == "push" and s.get("dry_run"):
        return (f"dry run: {s['tasks']} task(s) written to {s['dry_run']} (no server contacted), {s['rejected']} "
                f"rejected {s['reasons'] or ''}".rstrip())
    if action == "push":
        return (f"project {s['project']!r} (id {s['project_id']}): {s['pushed']} task(s) pushed, {s['already']} "
                f"already there, {s['rejected']} rejected {s['reasons'] or ''}".rstrip())
    if action == "status":
        return (f"project {s['project']!r} (id {s['project_id']}): {s['annotated']}/{s['tasks']} task(s) "
                f"annotated, {s['skipped']} skipped")
    lines = [f"merged {s['merged']}, rejected {s['rejected']}, skipped {s['skipped']}, unchanged {s['unchanged']}, "
             f"removed {s['removed']} (of {s['annotated']} annotated task(s))"]
    lines += [f"  malformed: task {m['task_id']} (frame {m['frame_id']}): {m['error']}" for m in s["malformed"]]
    lines += [f"  wrote {p}" for p in s["written"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pipeline.review import pull, push
    from pipeline.review.client import LabelStudioClient

    settings = get_settings()
    work = args.work_dir or settings.work_dir
    config = _config(args)
    if args.dry_run and args.action != "push":
        raise PipelineError(f"--dry-run: only `review push` has a dry run, got `review {args.action}`")
    if args.action == "push":
        dry = (args.out or Path(work) / "tasks.json") if args.dry_run else None
        summary = push(work, config, progress=not args.dry_run, dry_run=dry)
    elif args.action == "pull":
        summary = pull(work, args.out or Path(settings.work_dir) / "annotations", config)
    else:
        client = LabelStudioClient.from_settings(settings)
        project_id = client.find_project(args.project)
        if project_id is None:
            print(f"no project titled {args.project!r} at {client.url}")
            return 1
        summary = {"project": args.project, "project_id": project_id, **client.progress(project_id)}
    print(json.dumps(summary, indent=2, default=str) if args.json else _text(args.action, summary))
    return 1 if args.action == "pull" and summary["malformed"] else 0
