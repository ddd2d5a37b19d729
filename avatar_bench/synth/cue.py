"""Is the temporal cue real? Tell the sounding instance from its look-alikes with and without time.

For each multi-entity frame, every visible instance of the sounding category gets a *pulse signal*: the
mean luma inside its mask at some frames around the annotated one, read from the decoded video (masks
re-rendered from the clip's scene, the same geometry as the ground truth, each frame rendered once per video).
The instance whose signal correlates best with the audio's loudness (RMS) is the temporal guess. Two views:

- :func:`cue_check`, the *envelope* view: every frame within ``window_s`` of the annotated one, against the
  RMS of the 1/fps of audio centred on each frame (what the data holds);
- :func:`model_view_check`, the *model's* view, for a grid of (T, clip_seconds): only the T frames a model is
  given (``avatar_bench.window.model_window``: the centres of T equal segments of the window, the annotated frame
  at position T//2) against the RMS of each frame's segment (what the model's audio tokens cover).

The single-frame guesses see the annotated frame only: the brightest or the largest look-alike. Chance is the
mean of 1/k over frames (k look-alikes). Ties count as a share (1/m of a frame for an m-way tie).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.format import SPLITS, AvatarDataset, Image
from avatar_bench.naming import clip_file_name
from avatar_bench.rle import decode
from avatar_bench.synth.render import Renderer
from avatar_bench.synth.scene import scene_from_meta
from avatar_bench.window import model_window, segment_bounds

GRID_FRAMES = (1, 2, 4, 8, 16)  # T of the model's-view grid
GRID_SECONDS = (0.5, 1.0, 2.0, 4.0)  # clip_seconds of the model's-view grid


def decode_clip(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Luma planes ``(T, H, W)`` uint8, mono audio (float, mixed down) and its sample rate, via PyAV."""
    import av

    lumas, chunks, rate = [], [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            lumas.append(frame.to_ndarray(format="yuv420p")[: frame.height])
    with av.open(str(path)) as container:
        if container.streams.audio:
            for frame in container.decode(audio=0):
                rate = frame.sample_rate
                chunks.append(frame.to_ndarray().astype(np.float64).reshape(len(frame.layout.channels), -1)
                              .mean(axis=0))
    audio = np.concatenate(chunks) if chunks else np.zeros(0)
    return np.stack(lumas), audio, rate


def rms(audio: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    """RMS of the audio in ``[start_s, end_s)`` (0 outside the track)."""
    seg = audio[int(max(0.0, start_s) * rate) : max(0, int(end_s * rate))]
    return float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0


def audio_envelope(audio: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of the audio in the 1/fps window centred on each video frame."""
    return np.array([rms(audio, rate, i / fps - 0.5 / fps, i / fps + 0.5 / fps) for i in range(n_frames)])


class _Clip:
    """One decoded video: luma, audio, and the instance-id buffer of each frame (rendered once, on demand)."""

    def __init__(self, root: Path, name: str):
        meta = json.loads((root / "meta" / f"{name}.json").read_text(encoding="utf-8"))
        self.renderer = Renderer(scene_from_meta(meta))
        self.luma, self.audio, self.rate = decode_clip(root / "videos" / clip_file_name(name))
        self._ids: dict[int, np.ndarray] = {}

    def ids(self, f: int) -> np.ndarray:
        if f not in self._ids:
            self._ids[f] = self.renderer.render(f, colour=False)[1].copy()
        return self._ids[f]

    def signal(self, track_id: int, frames: Sequence[int]) -> np.ndarray:
        """Mean luma inside the instance's mask at each of ``frames`` (NaN where it is not visible)."""
        out = np.full(len(frames), np.nan)
        for j, f in enumerate(frames):
            mask = self.ids(f) == track_id
            if mask.any():
                out[j] = self.luma[f][mask].mean()
        return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2 or a[ok].std() == 0 or b[ok].std() == 0:
        return -1.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _hit(scores: dict[int, float], right: int) -> float:
    """Share of a frame the guess ``argmax(scores)`` earns: 1/m when ``right`` is among m tied best."""
    best = max(scores.values())
    tied = [k for k, v in scores.items() if np.isclose(v, best, rtol=0, atol=1e-9)]
    return 1.0 / len(tied) if right in tied else 0.0


def _twins(ds: AvatarDataset, im: Image) -> tuple[int, list]:
    anns = ds.anns_by_image[im.id]
    loud = next(a for a in anns if a.sounding)
    return loud.track_id, [a for a in anns if a.category_id == loud.category_id]


def _single_frame(clip: _Clip, im: Image, loud: int, twins: list) -> dict[str, float]:
    bright = {a.track_id: clip.luma[im.frame_index][decode(a.segmentation)].mean() for a in twins}
    return {"brightest": _hit(bright, loud), "largest": _hit({a.track_id: a.area for a in twins}, loud),
            "chance": 1.0 / len(twins)}


def _multi_entity_clips(root: Path, splits: Iterable[str], max_frames: int | None) -> Iterator[tuple]:
    """``(dataset, clip, multi-entity images)`` per video that has any, up to about ``max_frames`` frames."""
    seen = 0
    for split in splits:
        path = root / "annotations" / f"{split}.json"
        if not path.is_file():
            continue
        ds = AvatarDataset.load(path)
        for vid, images in ds.images_by_video.items():
            multi = [im for im in images if im.scenario == "multi_entity"]
            if not multi or (max_frames is not None and seen >= max_frames):
                continue
            seen += len(multi)
            yield ds, _Clip(root, ds.video_by_id[vid].name), multi


def _share(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def cue_check(data_dir: str | Path, window_s: float = 2.0, splits: tuple[str, ...] = SPLITS,
              max_frames: int | None = None) -> dict[str, Any]:
    """The envelope view: every frame within ``window_s`` of each multi-entity frame, RMS per video frame.

    Returns:
        ``{"frames", "window_s", "temporal_accuracy", "single_frame_brightest", "single_frame_largest",
        "chance"}`` (accuracies in [0, 1]; chance is the mean of 1/k over frames).
    """
    rows = []
    for ds, clip, multi in _multi_entity_clips(Path(data_dir), splits, max_frames):
        fps = ds.video_by_id[multi[0].video_id].fps
        env = audio_envelope(clip.audio, clip.rate, fps, len(clip.luma))
        half = int(round(window_s * fps))
        for im in multi:
            loud, twins = _twins(ds, im)
            frames = list(range(max(0, im.frame_index - half), min(len(clip.luma), im.frame_index + half + 1)))
            corr = {a.track_id: _pearson(clip.signal(a.track_id, frames), env[frames]) for a in twins}
            rows.append({"temporal": _hit(corr, loud), **_single_frame(clip, im, loud, twins)})
    return {"frames": len(rows), "window_s": window_s, "temporal_accuracy": _share(rows, "temporal"),
            "single_frame_brightest": _share(rows, "brightest"), "single_frame_largest": _share(rows, "largest"),
            "chance": _share(rows, "chance")}


def model_view_check(data_dir: str | Path, frames: Sequence[int] = GRID_FRAMES,
                     seconds: Sequence[float] = GRID_SECONDS, splits: tuple[str, ...] = SPLITS,
                     max_frames: int | None = None) -> dict[str, Any]:
    """The model's view over a grid of (T = ``frames``, clip_seconds = ``seconds``).

    Returns:
        ``{"frames": n, "grid": [{"num_frames", "clip_seconds", "segment_s", "temporal", "single_frame",
        "brightest", "largest", "chance"}, ...]}``: per cell, the temporal oracle (correlation of the T in-mask
        brightnesses with the T segment RMS values), the best single-frame rule (the better of brightest and
        largest on the annotated frame) and chance, as shares of the multi-entity frames.
    """
    cells = [(t, float(c)) for t in frames for c in seconds]
    rows: dict[tuple[int, float], list[dict]] = {cell: [] for cell in cells}
    for ds, clip, multi in _multi_entity_clips(Path(data_dir), splits, max_frames):
        fps = ds.video_by_id[multi[0].video_id].fps
        for im in multi:
            loud, twins = _twins(ds, im)
            single = _single_frame(clip, im, loud, twins)
            for t, c in cells:
                idx, start = model_window(im.frame_index, fps, t, c, len(clip.luma))
                level = np.array([rms(clip.audio, clip.rate, s, e) for s, e in segment_bounds(start, t, c)])
                corr = {a.track_id: _pearson(clip.signal(a.track_id, idx), level) for a in twins}
                rows[(t, c)].append({"temporal": _hit(corr, loud), **single})
    grid = []
    for (t, c), r in rows.items():
        brightest, largest = _share(r, "brightest"), _share(r, "largest")
        grid.append({"num_frames": t, "clip_seconds": c, "segment_s": c / t, "temporal": _share(r, "temporal"),
                     "single_frame": max(brightest, largest), "brightest": brightest, "largest": largest,
                     "chance": _share(r, "chance")})
    return {"frames": len(next(iter(rows.values()), [])), "grid": grid}


def format_model_view(result: dict[str, Any]) -> str:
    """The model's-view grid as a table: one row per T, one column per clip_seconds (temporal oracle, %)."""
    seconds = sorted({g["clip_seconds"] for g in result["grid"]})
    by = {(g["num_frames"], g["clip_seconds"]): g for g in result["grid"]}
    corner = "T \\ clip_seconds"
    first = result["grid"][0] if result["grid"] else {"single_frame": float("nan"), "chance": float("nan")}
    lines = [f"temporal oracle in the model's view, {result['frames']} multi-entity frames "
             f"(% picking the sounding look-alike; best single-frame rule {100 * first['single_frame']:.1f}%, "
             f"chance {100 * first['chance']:.1f}%)",
             f"{corner:<18}" + "".join(f"{c:>8g}" for c in seconds)]
    for t in sorted({g["num_frames"] for g in result["grid"]}):
        lines.append(f"{t:<18d}" + "".join(f"{100 * by[(t, c)]['temporal']:>8.1f}" if (t, c) in by else f"{'':>8}"
                                             for c in seconds))
    return "\n".join(lines)
