"""Frame choice: the sharpest frames inside the audio-active segments, spread over time.

One decoding pass per video, stopped after the last active segment. The active time is cut into
``n_frames`` equal bins (so the choice spreads over all the sound, not one loud second), each cut again in
``per_bin`` fine bins whose best frames are the candidates (the top frames of one bin would otherwise all
be neighbours). The focus score is the variance of the Laplacian of the frame's luma plane, read zero-copy
from the decoded YUV frame (no colour conversion; ``coarse_scale`` > 1 area-downscales it first).

Staying near the cost of decoding alone (measured in ``benchmarks/pipeline_cpu.py``):

* constant-rate streams are decoded with ``skip_frame=NONREF``: the decoder drops non-reference frames
  (most B-frames, typically 30-60 % of an upload) without decoding them, and a frame's index comes from its
  timestamp on the frame grid (a timestamp off the grid makes the video be scanned again with every frame).
  Every decoded frame in the segments is scored. Reference frames are the encoder's best-quality pictures,
  so the pick loses little (worst bin within 2 % of the exhaustive best on the benchmark clips);
* otherwise every frame is decoded and every ``full_stride``-th one scored, then the unscored neighbours of
  each fine bin's best (held only while that bin is open): sharpness varies smoothly between adjacent
  frames, so this finds the bin's best frame nearly always.

A greedy pass takes the sharpest candidates, at most one per bin first, never two closer than
``min_gap_s``; frames far below the clip's median score (motion blur, defocus) are never candidates. Only
the chosen frames are converted to colour (JPEG) and to PyAV's full-resolution grey image
(``to_ndarray(format="gray")``), whose Laplacian variance is the ``sharpness`` in the manifest.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bench import naming
from pipeline.config import StrictConfig, require
from pipeline.errors import Rejected
from pipeline.media import coarse_sharpness, full_sharpness, open_media, stream_fps, stream_seconds, write_jpeg
from pipeline.records import FrameRecord, ProbeRecord, SelectionRecord, VideoRecord

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class FrameConfig(StrictConfig):
    """Parameters of frame choice."""

    n_frames: int = 5  # AVATAR annotates ~5 frames per video
    min_gap_s: float = 1.0  # chosen frames are at least this far apart
    skip_nonref: bool = True  # constant-rate streams: the decoder drops non-reference frames (most B-frames)
    stride: int = 1  # with non-reference frames skipped: score every stride-th decoded frame in the segments
    full_stride: int = 2  # when every frame is decoded (variable rate, skip_nonref off): score every 2nd ...
    refine_radius: int | None = None  # ... then this many neighbours each side of a bin's best (None: stride - 1)
    coarse_scale: int = 1  # integer downscale of the luma for the scan score (1: full resolution, exact)
    per_bin: int = 3  # each bin is cut in this many sub-bins whose best frames are the candidates
    min_relative_sharpness: float = 0.5  # candidates must reach this fraction of the clip's median score
    min_sharpness: float = 1.0  # coarse score floor: flat frames (black, fades) hold nothing to annotate
    jpeg_quality: int = 95

    def validate(self) -> None:
        require(self.n_frames >= 1, "frames.n_frames", "at least 1 frame per video", self.n_frames)
        for name in ("stride", "full_stride", "coarse_scale", "per_bin"):
            require(getattr(self, name) >= 1, f"frames.{name}", "at least 1", getattr(self, name))
        for name in ("min_gap_s", "min_relative_sharpness", "min_sharpness"):
            require(getattr(self, name) >= 0, f"frames.{name}", "0 or more", getattr(self, name))
        require(self.refine_radius is None or self.refine_radius >= 0, "frames.refine_radius", "null or 0 or more",
                self.refine_radius)
        require(1 <= self.jpeg_quality <= 100, "frames.jpeg_quality", "1..100", self.jpeg_quality)


class _Bins:
    """Maps a timestamp to its bin of active time (None outside the segments)."""

    def __init__(self, segments: list[list[float]], n: int):
        self.starts = [s for s, _ in segments]
        self.segments = segments
        lengths = [e - s for s, e in segments]
        self.offsets = np.concatenate([[0.0], np.cumsum(lengths)]).tolist()
        self.n = max(1, n)
        self.width = (self.offsets[-1] / self.n) or 1.0
        self.end = segments[-1][1] if segments else 0.0

    def __call__(self, t: float) -> int | None:
        j = bisect.bisect_right(self.starts, t) - 1
        if j < 0 or t > self.segments[j][1]:
            return None
        active_t = self.offsets[j] + (t - self.starts[j])
        return min(self.n - 1, int(active_t / self.width))


class _Scan:
    """Streaming state of one decoding pass: the best frame per fine bin and the unscored neighbours of it."""

    def __init__(self, bins: _Bins, config: FrameConfig, stride: int):
        self.bins, self.config, self.stride = bins, config, max(1, stride)
        self.best: list[tuple | None] = [None] * bins.n  # (score, index, t, frame, coarse bin)
        self.neighbours: list[list[tuple]] = [[] for _ in range(bins.n)]  # (index, t, frame)
        self.radius = max(0, self.stride - 1 if config.refine_radius is None else config.refine_radius)
        self.recent: deque[tuple] = deque(maxlen=self.radius)  # the unscored frames just before a score
        self.capture: tuple[int, int] | None = None  # (bin, frames left) to hold after a new best
        self.scores: list[float] = []
        self.open_bin = 0

    def score(self, frame) -> float:
        value = coarse_sharpness(frame, self.config.coarse_scale)
        self.scores.append(value)
        return value

    def offer(self, b: int, score: float, index: int, t: float, frame) -> bool:
        if self.best[b] is None or score > self.best[b][0]:  # ties keep the earlier frame
            self.best[b] = (score, index, t, frame, b // self.config.per_bin)
            return True
        return False

    def add(self, k: int, index: int, t: float, frame, b: int | None) -> None:
        """Take the ``k``-th decoded frame (``index`` in the stream, shown at ``t``, in fine bin ``b``)."""
        if self.capture is not None:  # the frames right after a bin's best: kept for refinement
            cb, left = self.capture
            if cb == b:
                self.neighbours[b].append((index, t, frame))
            self.capture = (cb, left - 1) if left > 1 and cb == b else None
        if b is None:
            self.recent.clear()
            return
        self.close_before(b)
        if k % self.stride:
            self.recent.append((index, t, frame, b))
            return
        if self.offer(b, self.score(frame), index, t, frame) and self.radius:
            self.neighbours[b] = [r[:3] for r in self.recent if r[3] == b]
            self.capture = (b, self.radius)
        self.recent.clear()

    def close_before(self, b: int) -> None:
        """Refine the bins before ``b`` (time only moves forward): score the neighbours of their best."""
        for k in range(self.open_bin, min(b, self.bins.n)):
            for index, t, frame in self.neighbours[k]:
                self.offer(k, self.score(frame), index, t, frame)
            self.neighbours[k] = []  # release the frames
        self.open_bin = max(self.open_bin, b)


def _scan(container, stream, bins: _Bins, config: FrameConfig, skip_nonref: bool) -> tuple[list[tuple],
                                                                                            list[float]] | None:
    """Decode once; score every ``stride``-th decoded frame inside the segments, then the neighbours of each
    bin's best. With ``skip_nonref`` the decoder drops non-reference frames (most B-frames) unseen, and a
    frame's index comes from its timestamp on the constant-rate grid; None is returned when a timestamp is
    off that grid (then the caller scans again with every frame).

    Returns ``([(score, index, t, frame, coarse_bin), ...], all scores)``.
    """
    import av

    scan = _Scan(bins, config, config.stride if skip_nonref else config.full_stride)
    fps = stream_fps(stream) or 25.0
    t0 = stream_seconds(stream, stream.start_time) or 0.0
    stream.codec_context.skip_frame = "NONREF" if skip_nonref else "DEFAULT"
    last = -1
    try:
        for k, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else t0 + k / fps
            if t > bins.end:
                break  # nothing active after the last segment: stop decoding
            index = k
            if skip_nonref:
                x = (t - t0) * fps
                index = int(round(x))
                if abs(x - index) > 0.25 or index <= last:
                    return None
                last = index
            scan.add(k, index, t, frame, bins(t))
    except av.FFmpegError as exc:
        raise Rejected("decode_error", f"video stream failed to decode at frame {len(scan.scores)}: {exc}") from exc
    scan.close_before(bins.n)
    return [c for c in scan.best if c is not None], scan.scores


def constant_rate(stream) -> bool:
    """True when the stream declares one frame rate (average == nominal): frame index = time x fps."""
    avg, base = stream.average_rate, stream.base_rate
    return bool(avg and base and avg == base)


def _select(candidates: list[tuple], scores: list[float], config: FrameConfig) -> list[tuple]:
    """Greedy: sharpest first, one per bin first, then any bin; never two within ``min_gap_s``."""
    floor = max(config.min_sharpness, config.min_relative_sharpness * float(np.median(scores))) if scores else 0
    ranked = sorted((c for c in candidates if c[0] >= floor), key=lambda c: (-c[0], c[1]))
    chosen: list[tuple] = []
    for one_per_bin in (True, False):
        for cand in ranked:
            if len(chosen) >= config.n_frames:
                break
            if cand in chosen or (one_per_bin and any(c[4] == cand[4] for c in chosen)):
                continue
            if all(abs(cand[2] - c[2]) >= config.min_gap_s for c in chosen):
                chosen.append(cand)
    return sorted(chosen, key=lambda c: c[1])


def choose_frames(video: VideoRecord, probe: ProbeRecord, segments: list[list[float]], frames_dir: str | os.PathLike,
                  config: FrameConfig | None = None) -> tuple[list[FrameRecord], SelectionRecord]:
    """Choose and write the sharpest frames of one video inside its active segments.

    Args:
        video: the source record (path, label, split).
        probe: its probe record (chosen video stream, fps).
        segments: active segments ``[[start_s, end_s], ...]`` (sorted, disjoint).
        frames_dir: JPEGs go to ``<frames_dir>/<video_id>/<frame_index:06d>.jpg``.
        config: frame choice parameters.

    Returns:
        The frame records and the video's selection record.

    Raises:
        Rejected: ``decode_error`` or ``no_sharp_frames`` (nothing sharp enough inside the segments).
    """
    config = config or FrameConfig()
    vid = video.video_id
    log.info("decode-video %s", vid)  # one line per decoding pass: resume tests count them
    bins = _Bins(segments, config.n_frames * config.per_bin)
    with ExitStack() as stack:  # the containers stay open until the chosen frames are written
        candidates, scores = _candidates(video, probe, bins, config, stack)
        chosen = _select(candidates, scores, config)
        if not chosen:
            raise Rejected("no_sharp_frames", f"video {vid}: expected a frame with sharpness >= "
                                              f"{config.min_sharpness} in the active segments, scored {len(scores)}")
        records = [_write(video, c, Path(frames_dir), config) for c in chosen]
    selection = SelectionRecord(video_id=vid, n_frames=len(records), frame_ids=[r.frame_id for r in records],
                                n_scored=len(scores))
    return records, selection


def _candidates(video: VideoRecord, probe: ProbeRecord, bins: _Bins, config: FrameConfig,
                stack: ExitStack) -> tuple[list[tuple], list[float]]:
    """Scan with non-reference frames skipped when the rate is constant; again with every frame if needed."""
    container = stack.enter_context(open_media(video.path, video.video_id))
    stream = container.streams[probe.video_stream]
    try:
        found = _scan(container, stream, bins, config, config.skip_nonref and constant_rate(stream))
        if found is None:  # timestamps off the frame grid: indices need every frame
            log.info("video %s: irregular timestamps, decoding every frame", video.video_id)
            container = stack.enter_context(open_media(video.path, video.video_id))
            found = _scan(container, container.streams[probe.video_stream], bins, config, False)
    except Rejected as exc:
        raise Rejected(exc.reason, f"video {video.video_id}: {exc.detail}") from exc
    return found


def _write(video: VideoRecord, cand: tuple, frames_dir: Path, config: FrameConfig) -> FrameRecord:
    _, index, t, frame, _ = cand
    root = frames_dir.resolve()
    image_path = (root / naming.frame_file_name(video.video_id, index)).resolve()
    if not image_path.is_relative_to(root):  # ids are checked at the source; this is the last line of defence
        raise Rejected("bad_name", f"video {video.video_id!r}: its frames would land outside {root}")
    write_jpeg(frame, image_path, config.jpeg_quality)
    return FrameRecord(frame_id=naming.frame_id(video.video_id, index), video_id=video.video_id,
                       video_path=str(Path(video.path).absolute()), frame_index=index, timestamp_s=round(t, 4),
                       image_path=str(image_path), width=int(frame.width), height=int(frame.height),
                       sharpness=round(full_sharpness(frame), 3), label=video.label, split=video.split)
