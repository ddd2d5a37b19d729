"""Is the temporal cue real? Tell the sounding instance from its look-alikes with and without time.

For each multi-entity frame, every visible instance of the sounding category gets a *pulse signal*: the
mean luma inside its mask over the frames around the annotated one, read from the decoded video (masks
re-rendered from the clip's scene, the same geometry as the ground truth). The instance whose signal
correlates best with the audio envelope (RMS per video frame, from the decoded audio) is the temporal
guess. The single-frame guess only sees the annotated frame: the brightest (or the largest) look-alike.
With look-alikes pulsing at the same rate, the single frame should be right about 1/k of the time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from avatar_bench.format import SPLITS, AvatarDataset, Image
from avatar_bench.rle import decode
from avatar_bench.synth.render import Renderer
from avatar_bench.synth.scene import scene_from_meta


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


def audio_envelope(audio: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of the audio in the 1/fps window centred on each video frame."""
    half = 0.5 / fps
    out = np.zeros(n_frames)
    for i in range(n_frames):
        lo, hi = int(max(0.0, i / fps - half) * rate), int((i / fps + half) * rate)
        seg = audio[lo:hi]
        out[i] = np.sqrt(np.mean(seg**2)) if len(seg) else 0.0
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return -1.0
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _judge_frame(ds: AvatarDataset, im: Image, luma: np.ndarray, env: np.ndarray, renderer: Renderer,
                 window: int) -> dict[str, Any]:
    anns = ds.anns_by_image[im.id]
    loud = next(a for a in anns if a.sounding)
    twins = [a for a in anns if a.category_id == loud.category_id]
    frames = range(max(0, im.frame_index - window), min(len(luma), im.frame_index + window + 1))
    signals = {a.track_id: np.full(len(frames), np.nan) for a in twins}
    for j, f in enumerate(frames):
        _, ids = renderer.render(f, colour=False)
        for tid, sig in signals.items():
            mask = ids == tid
            if mask.any():
                sig[j] = luma[f][mask].mean()
    corr = {tid: _pearson(sig, env[list(frames)]) for tid, sig in signals.items()}
    bright = {a.track_id: luma[im.frame_index][decode(a.segmentation)].mean() for a in twins}
    large = {a.track_id: a.area for a in twins}
    return {"k": len(twins), "temporal": max(corr, key=corr.get) == loud.track_id,
            "brightest": max(bright, key=bright.get) == loud.track_id,
            "largest": max(large, key=large.get) == loud.track_id}


def cue_check(data_dir: str | Path, window_s: float = 2.0, splits: tuple[str, ...] = SPLITS,
              max_frames: int | None = None) -> dict[str, Any]:
    """Score the temporal and single-frame guesses on the multi-entity frames of a generated dataset.

    Returns:
        ``{"frames", "temporal_accuracy", "single_frame_brightest", "single_frame_largest", "chance"}``
        (accuracies in [0, 1]; chance is the mean of 1/k over frames).
    """
    root = Path(data_dir)
    results = []
    for split in splits:
        path = root / "annotations" / f"{split}.json"
        if not path.is_file():
            continue
        ds = AvatarDataset.load(path)
        for vid, images in ds.images_by_video.items():
            multi = [im for im in images if im.scenario == "multi_entity"]
            if not multi or (max_frames is not None and len(results) >= max_frames):
                continue
            video = ds.video_by_id[vid]
            meta = json.loads((root / "meta" / f"{video.name}.json").read_text(encoding="utf-8"))
            renderer = Renderer(scene_from_meta(meta))
            luma, audio, rate = decode_clip(root / "videos" / f"{video.name}.mp4")
            env = audio_envelope(audio, rate, video.fps, len(luma))
            window = int(round(window_s * video.fps))
            results += [_judge_frame(ds, im, luma, env, renderer, window) for im in multi]
    n = len(results)

    def share(key: str) -> float:
        return float(np.mean([r[key] for r in results])) if n else float("nan")

    return {"frames": n, "window_s": window_s, "temporal_accuracy": share("temporal"),
            "single_frame_brightest": share("brightest"), "single_frame_largest": share("largest"),
            "chance": float(np.mean([1.0 / r["k"] for r in results])) if n else float("nan")}
