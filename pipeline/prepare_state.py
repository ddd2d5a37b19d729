"""No stale results in a prepared work folder: prepare records its settings, and a rerun with other settings
redoes the work they affect (or refuses, naming the difference and the flag that redoes it).

``<work>/manifests/prepare_settings.json`` holds the settings the folder's results were made with, by section.
On a rerun each difference resets what it affects before any video is processed:

=====================  ============================================================================
changed                what is redone
=====================  ============================================================================
``frames.*``           frame choice of every video (its probe and activity are kept)
``activity.*``         audio activity and frame choice of every video
``probe.*``            the probe filter is applied again to every probed video (no decoding); videos it
                       now drops lose their later rows, videos it now keeps are processed
``download.url_template``  the downloads that failed or were refused are tried again
``download.*`` (cut)   nothing by itself: clips were cut with other settings, so the run is refused
                       unless ``--redo download`` (every clip downloaded and cut again)
=====================  ============================================================================

``--redo STAGE`` (``download``, ``probe``, ``activity``, ``frames``) redoes that stage and every later one
for every video, whatever changed. Settings that do not change results (``workers``, ``checkpoint_*``,
``download.workers`` and the retry timing) are not recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from avatar_bench.io import atomic_write_json
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.probe import FILTER_REASONS, ProbeFilter
from pipeline.records import STATUS_OK

log = logging.getLogger(__name__)

REDO_STAGES = ("download", "probe", "activity", "frames")  # in stage order: a redo includes every later one
_CUT = ("clip_s", "format", "crf", "preset")  # what makes a downloaded clip what it is
_NOT_RESULTS = {"workers", "checkpoint_every", "checkpoint_seconds"}
REFUSED_DOWNLOADS = ("unavailable", "private", "age_restricted", "geo_blocked", "download_failed", "cut_failed")


def result_settings(config: Any) -> dict[str, dict[str, Any]]:
    """The settings that shape prepare's results, by section (plain JSON values)."""
    d = config.to_dict()
    download = d["download"]
    return {"download": {k: download[k] for k in (*_CUT, "url_template")},
            **{k: v for k, v in d.items() if k not in _NOT_RESULTS and k != "download"}}


def differences(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """``{section: ["key: old -> new", ...]}`` for every setting that differs."""
    out: dict[str, list[str]] = {}
    for section in sorted(set(old) | set(new)):
        a, b = old.get(section) or {}, new.get(section) or {}
        changed = [f"{section}.{k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}"
                   for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        if changed:
            out[section] = changed
    return out


def reconcile(work: WorkDir, config: Any, redo: Iterable[str] = ()) -> list[str]:
    """Reset what changed settings (and ``redo``) make stale, then record the settings; return what was reset.

    Raises:
        PipelineError: the clips were cut with other download settings and ``download`` is not in ``redo``.
    """
    redo = set(redo)
    unknown = redo - set(REDO_STAGES)
    if unknown:
        raise PipelineError(f"--redo {sorted(unknown)}: expected some of {REDO_STAGES}")
    path = work.settings_path("prepare")
    new = result_settings(config)
    old = json.loads(path.read_text(encoding="utf-8")).get("settings", {}) if path.exists() else None
    diff = differences(old, new) if old is not None else {}
    cut = [c for c in diff.get("download", []) if c.split(":")[0].split(".")[1] in _CUT]
    if cut and "download" not in redo and any(v.source == "vggsound" for v in work.records("videos", required=False)):
        raise PipelineError(f"work folder {work.root}: its clips were cut with other settings ({'; '.join(cut)}); "
                            "rerun with --redo download to download and cut them again, or use another --work-dir")
    done = _reset(work, config, diff, redo)
    atomic_write_json(path, {"version": 1, "settings": new}, indent=2)
    return done


def _reset(work: WorkDir, config: Any, diff: dict[str, list[str]], redo: set[str]) -> list[str]:
    first = min((REDO_STAGES.index(s) for s in redo), default=len(REDO_STAGES))
    done = []
    if first <= 0:
        done.append(_forget(work, ("videos", "probe", "activity", "selection", "frames"), "download"))
        for clip in work.videos.glob("*.mp4") if work.videos.is_dir() else []:
            clip.unlink()
    elif any(c.startswith("download.url_template") for c in diff.get("download", [])):
        done.append(_retry_refused_downloads(work))
    if first <= 1:
        done.append(_forget(work, ("probe", "activity", "selection", "frames"), "probe"))
    elif "probe" in diff:
        done.append(_refilter(work, config))
    if first <= 2 or "activity" in diff:
        done.append(_forget(work, ("activity", "selection", "frames"), "activity"))
    elif first <= 3 or "frames" in diff:
        done.append(_forget(work, ("selection", "frames"), "frames"))
    for lines in diff.values():
        for line in lines:
            log.warning("settings changed since the last run: %s", line)
    return [d for d in done if d]


def _forget(work: WorkDir, stages: tuple[str, ...], what: str) -> str:
    """Drop every row of these stage tables (their JPEGs go at the end of the run, see prepare)."""
    n = 0
    for stage in stages:
        manifest = work.manifest(stage)
        if manifest.exists():
            n += manifest.remove(manifest.done_ids())
    return f"{what} redone for every video ({n} stale row(s) dropped)" if n else ""


def _retry_refused_downloads(work: WorkDir) -> str:
    videos = work.manifest("videos")
    stale = {v.video_id for v in videos.records() if v.reason in REFUSED_DOWNLOADS} if videos.exists() else set()
    videos.remove(stale)
    return f"{len(stale)} failed download(s) tried again with the new URL template" if stale else ""


def _refilter(work: WorkDir, config: Any) -> str:
    """Apply the new probe filter to every probed video; drop the later rows of videos it now rejects."""
    probe = work.manifest("probe")
    if not probe.exists():
        return ""
    probe_filter, changed, dropped = ProbeFilter(config.probe), [], set()
    for record in probe.records():
        if not record.ok and record.reason not in FILTER_REASONS:
            continue  # the probe itself failed: no facts to filter
        fresh = replace(record, status=STATUS_OK, reason="", detail="")
        probe_filter.apply(fresh)
        if (fresh.status, fresh.reason) != (record.status, record.reason):
            changed.append(fresh)
            if not fresh.ok:
                dropped.add(record.video_id)
    with probe:
        probe.extend(changed)
    for stage in ("activity", "selection"):
        work.manifest(stage).remove(dropped)
    frames = work.manifest("frames")
    frames.remove({f.frame_id for f in frames.records() if f.video_id in dropped} if frames.exists() else set())
    return f"probe filter applied again: {len(changed)} video(s) changed their verdict" if changed else ""
