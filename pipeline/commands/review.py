"""``avatar-pipeline review push|pull|status``: Label Studio review of a batch's proposals."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.common import (
    HelpFormatter,
    add_settings,
    add_work_dir,
    common_parser,
    emit,
    print_json,
    progress,
    work_dir,
)
from pipeline.stats import StageStats

HAS_ACTIONS = True
ACTIONS = {
    "push": "send the batch's proposals as pre-annotated tasks (only the frames the project lacks)",
    "pull": "merge verified annotations into the AVATAR-COCO split files (only what changed since the last pull)",
    "status": "how many of the project's tasks are annotated",
}


def _review_settings() -> argparse.ArgumentParser:
    """The review settings every action takes (ReviewConfig fields, also reachable with --set)."""
    from pipeline.review import ReviewConfig

    d = ReviewConfig()
    p = argparse.ArgumentParser(add_help=False)
    add_work_dir(p)
    p.add_argument("--project", default=None, help=f"Label Studio project title, found or created (default: "
                                                   f"{d.project})")
    p.add_argument("--categories", default=None,
                   help="category list: taxonomy YAML or an AVATAR-COCO JSON (default: annotations/taxonomy.yaml)")
    p.add_argument("--document-root", type=Path, default=None,
                   help="Label Studio's LOCAL_FILES_DOCUMENT_ROOT (default: that variable, else the work folder)")
    p.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help=f"tasks per import request (default: {d.chunk_size})")
    add_settings(p, "review settings (project, categories, document_root, chunk_size, timeout_s, playback, cut_s)")
    return p


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings, common = _review_settings(), common_parser()
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in ACTIONS.items():
        p = sub.add_parser(action, help=text, description=text, formatter_class=HelpFormatter,
                           parents=[common, settings])
        if action == "pull":
            p.add_argument("--out", type=Path, default=None,
                           help="folder of the split files to merge into (default: <work folder>/annotations)")
        if action == "push":
            _push_arguments(p)


def _push_arguments(p: argparse.ArgumentParser) -> None:
    from pipeline.review import ReviewConfig

    d = ReviewConfig()
    p.add_argument("--dry-run", action="store_true",
                   help="write the tasks it would send (strict JSON) to --out; no server is contacted")
    p.add_argument("--out", type=Path, default=None,
                   help="--dry-run: the tasks file (default: <work folder>/tasks.json)")
    p.add_argument("--no-playback", action="store_true", default=None,
                   help="no cut around each frame and no whole clip (frames only; ffmpeg not needed)")
    p.add_argument("--cut-seconds", type=float, default=None, metavar="S",
                   help=f"length of the cut around each frame (default: {d.cut_s})")


def build_config(args: argparse.Namespace):
    from pipeline.config import load_config
    from pipeline.review import ReviewConfig

    values = {"project": args.project, "categories": args.categories, "document_root": args.document_root,
              "chunk_size": args.chunk_size, "cut_s": getattr(args, "cut_seconds", None),
              "playback": False if getattr(args, "no_playback", None) else None}
    return load_config(ReviewConfig, args.config, args.overrides, values)


def _push_text(s: StageStats) -> str:
    if s.info.get("dry_run"):
        return (f"dry run: {s.counts['tasks']} task(s) written to {s.info['dry_run']} (no server contacted), "
                f"{s.n_rejected} rejected {dict(s.rejected) or ''}".rstrip())
    reasons = f" {dict(s.rejected)}" if s.rejected else ""
    updated = (f"; {s.counts['updated']} task(s) given their frame's new proposal, {s.counts['kept_started']} "
               "already started kept theirs" if s.counts.get("updated") or s.counts.get("kept_started") else "")
    return (f"project {s.info['project']!r} (id {s.info['project_id']}): {s.processed} task(s) pushed, {s.skipped} "
            f"already there, {s.n_rejected} rejected{reasons}{updated}")


def _pull_text(s: StageStats) -> str:
    c = s.counts
    lines = [f"merged {c['merged']}, rejected {s.rejected['rejected_by_annotator']}, skipped "
             f"{s.rejected['skipped_by_annotator']}, unchanged {s.skipped}, removed {c['removed']} "
             f"(of {c['annotated']} annotated task(s))"]
    lines += [f"  malformed: task {m['task_id']} (frame {m['frame_id']}): {m['error']}" for m in s.info["malformed"]]
    lines += [f"  wrote {p}" for p in s.info["written"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pipeline.review import pull, push
    from pipeline.review.client import LabelStudioClient

    config = build_config(args)
    work = work_dir(args)
    if args.action == "push":
        dry = (args.out or work / "tasks.json") if args.dry_run else None
        emit(args, push(work, config, progress=progress(args) and dry is None, dry_run=dry), _push_text)
        return 0
    if args.action == "pull":
        stats = pull(work, args.out, config)
        emit(args, stats, _pull_text)
        return 1 if stats.info["malformed"] else 0
    client = LabelStudioClient.from_settings()
    project_id = client.find_project(config.project)
    if project_id is None:
        print(f"no project titled {config.project!r} at {client.url}")
        return 1
    status = {"project": config.project, "project_id": project_id, **client.progress(project_id)}
    if args.json:
        print_json(status)
    else:
        print(f"project {status['project']!r} (id {project_id}): {status['annotated']}/{status['tasks']} task(s) "
              f"annotated, {status['skipped']} skipped")
    return 0
