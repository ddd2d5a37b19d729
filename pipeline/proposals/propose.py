"""The propose stage: ``frames.parquet`` → ``proposals.parquet``, resumable.

For each batch of frames: read the JPEGs, detect boxes (one batched call), tag the audio window around each
frame (per video, the audio is decoded once), apply the scenario rules, segment every kept instance (one image
embedding per frame, all its boxes in one prompt batch) and append one manifest row per frame. Rows are written
through :class:`pipeline.manifest.Manifest`: a killed run loses at most the unflushed rows, and a rerun skips the
frames already in the manifest.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench import rle
from pipeline.errors import PipelineError
from pipeline.manifest import STATUS_OK, STATUS_REJECTED, Manifest, reason_counts
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.scenario import propose_scenario
from pipeline.proposals.taxonomy import Taxonomy, default_taxonomy, load_taxonomy

log = logging.getLogger(__name__)
FRAME_COLUMNS = ("frame_id", "video_id", "video_path", "frame_index", "timestamp_s", "image_path", "width", "height",
                 "label", "split", "status")


class Backends:
    """The three backends of one run, built once."""

    def __init__(self, cfg: ProposeConfig):
        from pipeline.proposals.detector import make_detector
        from pipeline.proposals.segmenter import make_segmenter
        from pipeline.proposals.taggers import make_tagger

        def opts(options: dict, with_device: bool = True) -> dict:
            return {"device": cfg.device, **options} if with_device else dict(options)

        self.detector = make_detector(cfg.detector, **opts(cfg.detector_options, cfg.detector != "none"))
        self.tagger = make_tagger(cfg.tagger, **opts(cfg.tagger_options, cfg.tagger == "cavmae"))
        self.segmenter = make_segmenter(cfg.segmenter, **opts(cfg.segmenter_options, cfg.segmenter != "none"))
        self.version = cfg.model_version or "|".join([
            f"{cfg.detector}:{_weights_name(cfg.detector_options, 'model')}",
            f"{cfg.tagger}:{_weights_name(cfg.tagger_options, 'model', 'checkpoint')}",
            _segmenter_version(self.segmenter.name, cfg.segmenter_options),
            f"rules:tag{cfg.rules.tag_threshold}-det{cfg.rules.det_threshold}"])


def _segmenter_version(name: str, options: dict) -> str:
    """The segmenter part of the model version: the backend actually used (``auto`` resolves to one)."""
    if name == "grabcut":
        return "grabcut:opencv"
    return f"{name}:{_weights_name(options, 'checkpoint', 'random_variant')}"


def _weights_name(options: dict, *keys: str) -> str:
    value = next((options[k] for k in keys if options.get(k)), None)
    return Path(str(value)).name if value is not None else "default"


def read_frames(work_dir: Path):
    """The ``ok`` rows of ``<work>/manifests/frames.parquet``, checked for the frames-manifest columns."""
    import pandas as pd

    path = Path(work_dir) / "manifests" / "frames.parquet"
    if not path.exists():
        raise PipelineError(f"frames manifest {path}: not found (run `avatar-pipeline prepare` first)")
    frames = pd.read_parquet(path)
    missing = [c for c in FRAME_COLUMNS if c not in frames.columns]
    if missing:
        raise PipelineError(f"frames manifest {path}: expected columns {missing}, got {list(frames)}")
    return frames[frames["status"] == STATUS_OK].sort_values(["video_id", "timestamp_s"]).reset_index(drop=True)


PROPOSAL_COLUMNS = ("frame_id", "video_id", "image_path", "width", "height", "frame_index", "timestamp_s", "label",
                    "split", "model_version", "scenario", "scenario_score", "flagged", "flag_reasons", "audio_tags",
                    "heard_categories", "instances", "status", "reason")


def _base_row(frame: dict, version: str) -> dict[str, Any]:
    return {"frame_id": str(frame["frame_id"]), "video_id": str(frame["video_id"]),
            "image_path": str(frame["image_path"]), "width": int(frame["width"]), "height": int(frame["height"]),
            "frame_index": int(frame["frame_index"]), "timestamp_s": float(frame["timestamp_s"]),
            "label": None if frame.get("label") is None else str(frame["label"]),
            "split": None if frame.get("split") is None else str(frame["split"]), "model_version": version}


def _rejected_row(frame: dict, version: str, reason: str, detail: str) -> dict[str, Any]:
    log.warning("frame %s: %s (%s)", frame["frame_id"], reason, detail)
    return {**_base_row(frame, version), "scenario": None, "scenario_score": 0.0, "flagged": True,
            "flag_reasons": json.dumps([f"{reason}: {detail}"]), "audio_tags": "[]", "heard_categories": "[]",
            "instances": "[]", "status": STATUS_REJECTED, "reason": reason}


def _read_image(path: str) -> np.ndarray | None:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR) if Path(path).is_file() else None


def _audio_scores(frames: list[dict], backends: Backends) -> tuple[list[np.ndarray | None], list[str | None]]:
    """Label scores per frame (``None`` when its video has no usable audio) and a flag reason if so."""
    from pipeline.proposals.audio import cached_audio

    scores: list[np.ndarray | None] = [None] * len(frames)
    notes: list[str | None] = [None] * len(frames)
    if backends.tagger.name == "none":
        return scores, notes
    by_video: dict[str, list[int]] = {}
    for i, f in enumerate(frames):
        by_video.setdefault(str(f["video_path"]), []).append(i)
    for video, idx in by_video.items():
        try:
            wave = cached_audio(video)
        except PipelineError as exc:
            wave, note = None, f"audio_unreadable: {exc}"
        else:
            note = "no_audio_stream: the video has no audio track" if wave is None else None
        if wave is None:
            for i in idx:
                notes[i] = note
            continue
        result = backends.tagger.score_windows(wave, [float(frames[i]["timestamp_s"]) for i in idx])
        for i, row in zip(idx, result, strict=True):
            scores[i] = row
    return scores, notes


def _process_batch(frames: list[dict], backends: Backends, cfg: ProposeConfig, tax: Taxonomy) -> list[dict]:
    from pipeline.proposals.taggers import entity_scores, top_tags

    images = [_read_image(f["image_path"]) for f in frames]
    rows: list[dict | None] = [None] * len(frames)
    for i, (f, img) in enumerate(zip(frames, images, strict=True)):
        if img is None:
            rows[i] = _rejected_row(f, backends.version, "unreadable_frame",
                                    f"cannot read or decode image {f['image_path']}")
    good = [i for i, r in enumerate(rows) if r is None]
    detections = backends.detector.detect([images[i] for i in good])
    scores, notes = _audio_scores([frames[i] for i in good], backends)
    proposals, tags = [], []
    for k in range(len(good)):
        s = scores[k]
        tags.append(top_tags(s, backends.tagger, tax, top_k=cfg.top_k_tags, min_score=cfg.min_tag_score)
                    if s is not None else [])
        heard = entity_scores(s, backends.tagger, tax) if s is not None else {}
        active = backends.tagger.name != "none" and s is not None
        prop = propose_scenario(heard, detections[k], tax, cfg.rules, tagger_active=active)
        if notes[k]:
            prop.flag_reasons.insert(0, notes[k])
        proposals.append(prop)
    masks = backends.segmenter.segment([images[i] for i in good],
                                       [[_xyxy(inst.bbox) for inst in p.instances] for p in proposals])
    for k, i in enumerate(good):
        prop = proposals[k]
        for inst, mask in zip(prop.instances, masks[k], strict=True):
            inst.rle = rle.encode(mask) if mask is not None else None
        rows[i] = {**_base_row(frames[i], backends.version), "scenario": prop.scenario,
                   "scenario_score": round(prop.score, 4), "flagged": prop.flagged,
                   "flag_reasons": json.dumps(prop.flag_reasons),
                   "audio_tags": json.dumps([t.to_dict() for t in tags[k]]),
                   "heard_categories": json.dumps(prop.heard_categories),
                   "instances": json.dumps([inst.to_dict() for inst in prop.instances]),
                   "status": STATUS_OK, "reason": None}
    return rows


def _xyxy(bbox: list[float]) -> list[float]:
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


def propose(work_dir: str | Path, config: ProposeConfig | dict | None = None, *,
            progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run the propose stage over ``<work_dir>/manifests/frames.parquet``.

    Args:
        work_dir: the pipeline work folder (manifests live in ``<work_dir>/manifests``).
        config: a :class:`ProposeConfig` or a plain mapping of its fields.
        progress: called with the number of frames finished after each batch (the CLI's tqdm bar).

    Returns:
        Summary: ``frames`` (ok frames in the input), ``skipped`` (already done), ``processed``, ``rejected``,
        ``reasons``, ``scenarios`` (counts), ``flagged``, ``seconds``, ``frames_per_s``, ``manifest``.
    """
    cfg = config if isinstance(config, ProposeConfig) else ProposeConfig.from_dict(config)
    work_dir = Path(work_dir)
    tax = load_taxonomy(cfg.taxonomy) if cfg.taxonomy else default_taxonomy()
    frames = read_frames(work_dir)
    # Nothing to propose (every video rejected) still writes an empty table with these columns: later stages go on.
    manifest = Manifest(work_dir / "manifests", "proposals", key="frame_id", flush_every=cfg.flush_every,
                        columns=PROPOSAL_COLUMNS)
    done = manifest.done_ids()
    todo = [r for r in frames.to_dict("records") if str(r["frame_id"]) not in done]
    start, rows_written = time.monotonic(), []
    if todo:
        backends = Backends(cfg)
        with manifest:
            for b in range(0, len(todo), cfg.batch_size):
                rows = _process_batch(todo[b:b + cfg.batch_size], backends, cfg, tax)
                manifest.extend(rows)
                rows_written.extend(rows)
                if progress:
                    progress(len(rows))
    table = manifest.finalize()
    seconds = time.monotonic() - start
    ok = [r for r in rows_written if r["status"] == STATUS_OK]
    scenarios: dict[str, int] = {}
    for r in ok:
        key = r["scenario"] or "none"
        scenarios[key] = scenarios.get(key, 0) + 1
    return {"frames": len(frames), "skipped": len(frames) - len(todo), "processed": len(rows_written),
            "rejected": len(rows_written) - len(ok), "reasons": reason_counts(table),
            "scenarios": scenarios, "flagged": sum(bool(r["flagged"]) for r in ok), "seconds": round(seconds, 2),
            "frames_per_s": round(len(rows_written) / seconds, 2) if rows_written and seconds > 0 else None,
            "manifest": str(manifest.path)}
