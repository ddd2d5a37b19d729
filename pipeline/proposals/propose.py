"""The propose stage: ``frames.parquet`` → ``proposals.parquet``, resumable.

For each batch of frames: read the JPEGs, detect boxes (one batched call), tag the audio window around each
frame (per video, the audio is decoded once), apply the scenario rules, segment every kept instance (one image
embedding per frame, all its boxes in one prompt batch) and append one manifest row per frame. Rows are written
through :class:`pipeline.manifest.Manifest`: a killed run loses at most the unflushed rows, and a rerun skips the
frames already in the manifest.

Chunked (the Prefect flows, :mod:`pipeline.chunks`): :func:`plan_proposals` (under the lock) finds the frames left,
:func:`propose_chunk` proposes one chunk of them wherever the work folder is visible (the backends are built
once per thread and reused by its next chunks) and :func:`finish_proposals` merges the table and writes the
summary; :func:`propose` is the same steps in one process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bench import rle
from pipeline.chunks import Chunk, make_chunks, require_visible
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
    tax = taxonomy(cfg)
    frames = read_frames(work.root)
    with work.lock("avatar-pipeline propose"):
        plan = plan_proposals(work, cfg, frames, pushed=pushed)
        start = time.monotonic()
        if plan.todo:
            write_proposals(work, plan.todo, cfg, Backends(cfg, plan.settings), tax, progress=progress)
        return finish_proposals(work, plan, time.monotonic() - start)


@dataclass(slots=True)
class ProposePlan:
    """The frames a propose run has left (kept frames without a proposal), decided under the lock."""

    n_frames: int  # kept frames of the work folder
    todo: list[FrameRecord]  # by video, then time
    stale: int  # proposals dropped: their frames are no longer kept
    settings: dict  # what this run's proposals record (:func:`pipeline.proposals.provenance.proposal_settings`)
    redone: dict[str, int]  # ``stale_redone``, ``stale_kept_pushed`` (proposals made with other settings)

    def chunks(self, size: int) -> list[Chunk[FrameRecord]]:
        """About ``size`` frames per chunk; a video's frames stay in one chunk (its audio is decoded once)."""
        return make_chunks(self.todo, size, group=lambda f: f.video_id)


def plan_proposals(work: WorkDir, cfg: ProposeConfig, frames: list[FrameRecord] | None = None, *,
                   pushed: str | None = None) -> ProposePlan:
    """Drop the proposals of frames prepare no longer keeps and those made with other settings
    (:func:`pipeline.proposals.provenance.reconcile`, ``pushed`` as in :func:`propose`), find the frames left.
    The caller holds the lock.

    Raises:
        PipelineError: stale frames are already in Label Studio and ``pushed`` is ``None`` (before any work).
    """
    frames = read_frames(work.root) if frames is None else frames
    # Nothing to propose (every video rejected) still writes an empty table with the record's columns.
    manifest = work.manifest("proposals")
    current = {f.frame_id for f in frames}
    stale = manifest.remove(manifest.done_ids() - current) if manifest.exists() else 0  # frames prepare dropped
    settings = proposal_settings(cfg)
    redone = dict(reconcile(work, manifest, settings, pushed))
    done = manifest.done_ids()
    return ProposePlan(len(frames), [f for f in frames if f.frame_id not in done], stale, settings, redone)


def taxonomy(cfg: ProposeConfig) -> Taxonomy:
    """The run's categories: ``cfg.taxonomy`` or annotations/taxonomy.yaml."""
    return load_taxonomy(cfg.taxonomy) if cfg.taxonomy else default_taxonomy()


def write_proposals(work: WorkDir, frames: list[FrameRecord], cfg: ProposeConfig, backends: Backends, tax: Taxonomy,
                    progress: Callable[[int], None] | None = None) -> StageStats:
    """Propose ``frames`` batch by batch and write their rows as part files; return this run's counts."""
    manifest = work.manifest("proposals", flush_every=cfg.flush_every)
    run = StageStats(stage="propose", unit="frame", processed=len(frames), headline="{kept} frames")
    try:
        for b in range(0, len(frames), cfg.batch_size):
            records = _process_batch(frames[b:b + cfg.batch_size], backends, cfg, tax)
            manifest.extend(records)
            for r in records:
                if r.ok:
                    run.keep()
                else:
                    run.reject(r.reason)
            if progress:
                progress(len(records))
    finally:
        manifest.flush()  # rows already proposed are kept, even on an error
    return run


_LOCAL = threading.local()  # this thread's backends: (config key, Backends, Taxonomy)


def propose_chunk(work_dir: str | Path, chunk: Chunk[FrameRecord], config: ProposeConfig) -> StageStats:
    """Propose one chunk of a :class:`ProposePlan` (in any process that sees the work folder); the backends are
    built on the thread's first chunk and reused while the settings stay the same.

    Raises:
        PipelineError: the work folder is not visible here; a backend cannot be built.
    """
    started = time.monotonic()
    work = WorkDir(work_dir)
    require_visible(work, f"propose chunk {chunk.name}")
    key = json.dumps(config.to_dict(), sort_keys=True, default=str)
    if getattr(_LOCAL, "key", None) != key:
        _LOCAL.key, _LOCAL.backends = None, None  # the old models go before the new ones load
        _LOCAL.backends = Backends(config)
        _LOCAL.tax = taxonomy(config)
        _LOCAL.key = key
    run = write_proposals(work, chunk.items, config, _LOCAL.backends, _LOCAL.tax)
    run.seconds = time.monotonic() - started
    return run


def finish_proposals(work: WorkDir, plan: ProposePlan, seconds: float) -> StageStats:
    """Merge the proposals' parts into the table (atomic replace) and write the summary; the caller holds the
    lock. ``seconds``: the time spent proposing (``frames_per_s``)."""
    manifest = work.manifest("proposals")
    manifest.finalize()
    stats = _stats(manifest.records(), plan.n_frames, len(plan.todo), seconds)
    stats.counts["stale_removed"] = plan.stale
    stats.counts.update(plan.redone)
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
