"""The ground truth of ``avatar-eval``: an AVATAR-COCO file, or a release folder imported through the cache."""

from __future__ import annotations

import sys
from pathlib import Path

from avatar_bench.errors import ReleaseError
from avatar_bench.format import AvatarDataset


def load_gt_for(args) -> AvatarDataset:
    """``args.gt`` as a dataset; for a release folder, also says on stderr how it was read, and makes its
    frame images the default ``--frames`` of the overlays."""
    task_map = getattr(args, "task_map", None) or []
    if not Path(args.gt).is_dir():
        if task_map:
            raise ReleaseError(f"--task-map applies to a release folder; {args.gt} is an AVATAR-COCO file")
        return AvatarDataset.load(args.gt)
    from avatar_bench.release import load_release, parse_task_map

    ds, info = load_release(args.gt, task_map=parse_task_map(task_map))
    warnings = ds.info.get("import", {}).get("warnings", {})
    how = f"cached import {info.path}" if info.cached else "imported"
    if not info.cached and info.path:
        how += f", cached as {info.path}"
    note = ", ".join(f"{code} x{n}" for code, n in warnings.items()) or "none"
    print(f"{args.gt}: the released benchmark, {len(ds.images):,} frames ({how}); import warnings: {note}"
          + (" (avatar-data import-release lists them)" if warnings else ""), file=sys.stderr)
    if getattr(args, "frames", "unset") is None and info.frames_root is not None:
        args.frames = str(info.frames_root)
    return ds
