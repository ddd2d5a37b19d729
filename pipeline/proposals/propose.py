"""The propose stage: ``frames.parquet`` → ``proposals.parquet``, resumable.

For each batch of frames: read the JPEGs, detect boxes (one batched call), tag the audio window around each
frame (per video, the audio is decoded once), apply the scenario rules, segment every kept instance (one image
embedding per frame, all its boxes in one prompt batch) and append one manifest row per frame. Rows are written
through :class:`pipeline.manifest.Manifest`: a killed run loses at most the unflushed rows, and a rerun skips the
frames already in the manifest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from avatar_bench import rle
from pipeline.config import from_dict
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.provenance import proposal_settings, reconcile
from pipeline.proposals.records import ProposalRecord
from pipeline.proposals.scenario import propose_scenario
from pipeline.proposals.taxonomy import Taxonomy, default_taxonomy, load_taxonomy
from pipeline.records import STATUS_OK, STATUS_REJECTED, FrameRecord
from pipeline.stats import StageStats

log = logging.getLogger(__name__)


class Backends:
    """The three backends of one run, built once, and what their proposals record (``version``, ``settings``)."""

    def __init__(self, cfg: ProposeConfig, settings: dict | None = None):
        from pipeline.proposals.detector import make_detector
        from pipeline.proposals.segmenter import make_segmenter
        from pipeline.proposals.taggers import make_tagger

        def opts(options: dict, with_device: bool = True) -> dict:
            return {"device": cfg.device, **options} if with_device else dict(options)

        self.detector = make_detector(cfg.detector, **opts(cfg.detector_options, cfg.detector != "none"))
        self.tagger = make_tagger(cfg.tagger, **opts(cfg.tagger_options, cfg.tagger == "cavmae"))
        self.segmenter = make_segmenter(cfg.segmenter, **opts(cfg.segmenter_options, cfg.segmenter != "none"))
        self.version = model_version(cfg, self.segmenter.name)
        self.settings = settings if settings is not None else proposal_settings(cfg)


def model_version(cfg: ProposeConfig, segmenter: str | None = None) -> str:
    """What made a proposal: backends, their weights and the rule thresholds (``cfg.model_version`` if set).

    Args:
        segmenter: the segmenter backend actually used (``auto`` resolves to ``sam`` or ``grabcut``).
    """
    return cfg.model_version or "|".join([
        f"{cfg.detector}:{_weights_name(cfg.detector_options, 'model')}",
        f"{cfg.tagger}:{_weights_name(cfg.tagger_options, 'model', 'checkpoint')}",
        _segmenter_version(segmenter or cfg.segmenter, cfg.segmenter_options),
        f"rules:tag{cfg.rules.tag_threshold}-det{cfg.rules.det_threshold}"])


def _segmenter_version(name: str, options: dict) -> str:
    """The segmenter part of the model version: the backend actually used (``auto`` resolves to one)."""
    if name == "grabcut":
        return "grabcut:opencv"
    return f"{name}:{_weights_name(options, 'checkpoint', 'random_variant')}"


def _weights_name(options: dict, *keys: str) -> str:
    value = next((options[k] for k in keys if options.get(k)), None)
    return Path(str(value)).name if value is not None else "default"


def read_frames(work_dir: str | Path) -> list[FrameRecord]:
    """The kept frames of the work folder, by video then time (PipelineError: no frames table, or a foreign one)."""
    frames = WorkDir(work_dir).records("frames", STATUS_OK)
    return sorted(frames, key=lambda f: (f.video_id, f.timestamp_s))


def _rejected(frame: FrameRecord, backends: Backends, reason: str, detail: str) -> ProposalRecord:
    log.warning("frame %s: %s (%s)", frame.frame_id, reason, detail)
    return ProposalRecord.for_frame(frame, backends.version, settings=backends.settings, flagged=True,
                                    flag_reasons=[f"{reason}: {detail}"], status=STATUS_REJECTED, reason=reason)


def _read_image(path: str) -> np.ndarray | None:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_COLOR) if Path(path).is_file() else None


def _audio_scores(frames: list[FrameRecord], backends: Backends) -> tuple[list[np.ndarray | None], list[str | None]]:
    """Label scores per frame (``None`` when its video has no usable audio) and a flag reason if so."""
    from pipeline.proposals.audio import cached_audio

    scores: list[np.ndarray | None] = [None] * len(frames)
    notes: list[str | None] = [None] * len(frames)
    if backends.tagger.name == "none":
        return scores, notes
    by_video: dict[str, list[int]] = {}
    for i, f in enumerate(frames):
        by_video.setdefault(f.video_path, []).append(i)
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
        result = backends.tagger.score_windows(wave, [frames[i].timestamp_s for i in idx])
        for i, row in zip(idx, result, strict=True):
            scores[i] = row
    return scores, notes


def _process_batch(frames: list[FrameRecord], backends: Backends, cfg: ProposeConfig,
                   tax: Taxonomy) -> list[ProposalRecord]:
    from pipeline.proposals.taggers import entity_scores, top_tags

    images = [_read_image(f.image_path) for f in frames]
    out: list[ProposalRecord | None] = [None] * len(frames)
    for i, (f, img) in enumerate(zip(frames, images, strict=True)):
        if img is None:
            out[i] = _rejected(f, backends, "unreadable_frame", f"cannot read or decode image {f.image_path}")
    good = [i for i, r in enumerate(out) if r is None]
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
                                       [[inst.xyxy() for inst in p.instances] for p in proposals])
    for k, i in enumerate(good):
        prop = proposals[k]
        for inst, mask in zip(prop.instances, masks[k], strict=True):
            inst.rle = rle.encode(mask) if mask is not None else None
        out[i] = ProposalRecord.for_frame(frames[i], backends.version, settings=backends.settings,
                                          scenario=prop.scenario, scenario_score=round(prop.score, 4),
                                          flagged=prop.flagged,
                                          flag_reasons=list(prop.flag_reasons), audio_tags=tags[k],
                                          heard_categories=list(prop.heard_categories), instances=prop.instances)
    return out  # type: ignore[return-value]


def propose(work_dir: str | Path, config: ProposeConfig | dict | None = None, *,
            progress: Callable[[int], None] | None = None, pushed: str | None = None) -> StageStats:
    """Run the propose stage over the work folder's kept frames (``frames`` → ``proposals``).

    Frames proposed earlier with other settings are proposed again (:mod:`pipeline.proposals.provenance`).

    Args:
        work_dir: the pipeline work folder.
        config: a :class:`ProposeConfig` or a plain mapping of its fields.
        progress: called with the number of frames finished after each batch (the CLI's tqdm bar).
        pushed: stale frames already in Label Studio: ``None`` refuses the run (PipelineError), ``"keep"`` keeps
            their proposals, ``"redo"`` proposes them again.

    Returns:
        The stage's statistics (also in ``<work_dir>/propose_summary.json``): kept/rejected proposals of the
        folder, ``processed``/``skipped`` frames of this run, counts ``frames`` (kept frames in the input),
        ``flagged``, ``stale_removed`` (frames prepare dropped), ``stale_redone``, ``stale_kept_pushed``; breakdown
        ``scenario``; info ``frames_per_s``, ``manifest``.
    """
    cfg = config if isinstance(config, ProposeConfig) else from_dict(ProposeConfig, config or {})
    work = WorkDir(work_dir)
    tax = load_taxonomy(cfg.taxonomy) if cfg.taxonomy else default_taxonomy()
    frames = read_frames(work.root)
    with work.lock("avatar-pipeline propose"):
        # Nothing to propose (every video rejected) still writes an empty table with the record's columns.
        manifest = work.manifest("proposals", flush_every=cfg.flush_every)
        current = {f.frame_id for f in frames}
        stale = manifest.remove(manifest.done_ids() - current) if manifest.exists() else 0  # frames prepare dropped
        settings = proposal_settings(cfg)
        redone = reconcile(work, manifest, settings, pushed)  # frames proposed with other settings
        done = manifest.done_ids()
        todo = [f for f in frames if f.frame_id not in done]
        start = time.monotonic()
        if todo:
            backends = Backends(cfg, settings)
            with manifest:
                for b in range(0, len(todo), cfg.batch_size):
                    records = _process_batch(todo[b:b + cfg.batch_size], backends, cfg, tax)
                    manifest.extend(records)
                    if progress:
                        progress(len(records))
        manifest.finalize()
        stats = _stats(manifest.records(), len(frames), len(todo), time.monotonic() - start)
        stats.counts["stale_removed"] = stale
        stats.counts.update(redone)
        stats.info["manifest"] = str(manifest.path)
        work.write_summary(stats)
    return stats


def _stats(records: list[ProposalRecord], n_frames: int, n_todo: int, seconds: float) -> StageStats:
    stats = StageStats(stage="propose", unit="frame", processed=n_todo, skipped=n_frames - n_todo, seconds=seconds,
                       headline="{kept} frames")
    stats.counts["frames"] = n_frames
    for r in records:
        if r.ok:
            stats.keep()
            stats.tally("scenario", r.scenario or "none")
            stats.count("flagged", int(r.flagged))
        else:
            stats.reject(r.reason)
    stats.info["frames_per_s"] = round(n_todo / seconds, 2) if n_todo and seconds > 0 else None
    return stats
