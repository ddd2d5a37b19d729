"""Clips for TAVLO: T frames of a window and the window's log-mel spectrogram, decoded in DataLoader workers.

A window around an anchor frame ``a`` (frame rate ``fps``, ``T`` frames, ``clip_seconds`` = T * d) holds frames at
``t_a + (k - T//2) * d`` for ``k = 0..T-1`` and the audio of ``[t_0 - d/2, t_{T-1} + d/2)``: segment k of the
spectrogram is the audio around frame k, which the audio encoder's rectangular kernel turns into token k. With
T = 1 (the baseline) the one frame sits in the middle of the same ``clip_seconds`` of audio. Evaluation windows
put the annotated frame at position ``T//2``; training draws the anchor uniformly per epoch.

Augmentation as EZ-VSL: a random resized crop and a horizontal flip, shared by the T frames of a clip (so a
token position is the same place over time); evaluation resizes the whole frame.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avatar_bench.format import AvatarDataset
from avatar_bench.naming import CLIP_DIGITS, RELEASE_DIGITS, clip_file_name, clip_name
from avatar_bench.release.idlist import read_id_list
from avatar_bench.vggsound import RowProblem, read_rows
from avatar_bench.window import model_window
from tavlo_model.audio import slice_columns
from tavlo_model.config import DataConfig, ModelConfig
from tavlo_model.errors import TavloError
from tavlo_model.video import AudioParams, FrameCache, decode_frames, probe_fps, video_mel

log = logging.getLogger(__name__)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)  # ImageNet statistics (torchvision weights)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class ClipItem:
    """One dataset entry: a video and, for evaluation, the annotated frame its window is centred on."""

    path: str
    name: str
    anchor: int = -1  # frame index at window position T//2; -1 = drawn at random each epoch (training)
    image_id: int = -1


def items_from_gt(gt: AvatarDataset, video_dir: str | os.PathLike) -> list[ClipItem]:
    """One item per annotated frame, videos interleaved so neighbouring items come from different videos."""
    per_video = []
    for video in gt.videos:
        path = Path(video_dir) / (video.file_name or clip_file_name(video.name))
        per_video.append([ClipItem(str(path), video.name, im.frame_index, im.id)
                          for im in gt.images_by_video.get(video.id, [])])
    longest = max((len(v) for v in per_video), default=0)
    return [v[i] for i in range(longest) for v in per_video if i < len(v)]


def items_from_csv(csv_path: str | os.PathLike, video_dir: str | os.PathLike, split: str) -> list[ClipItem]:
    """Training items from VGGSound-style rows ``id,start_s,label,split`` (``avatar_bench.vggsound``, the one
    reader); files ``<id>_<start:06d>.mp4``, or the release's ``<id>_<start:05d>.mp4`` (``avatar_bench.naming``).
    Bad rows and missing videos are logged with their reasons and skipped."""
    if not Path(csv_path).is_file():
        raise TavloError(f"data.csv {csv_path}: file not found")
    items, missing, problems = [], 0, Counter()
    for row in read_rows(csv_path, check_split=False):
        if isinstance(row, RowProblem):
            problems[row.reason] += 1
            if sum(problems.values()) <= 5:
                log.warning("%s: %s (%s), skipped", csv_path, row.detail, row.reason)
            continue
        if row.split.strip() != split:
            continue
        path = _clip_path(video_dir, row.youtube_id, row.start_s)
        if path is not None:
            items.append(ClipItem(str(path), path.stem))
        else:
            missing += 1
    if problems:
        log.warning("%s: %d bad row(s) skipped: %s", csv_path, sum(problems.values()), dict(problems))
    if missing:
        log.warning("%s: %d %s-split video(s) not found in %s, skipped", csv_path, missing, split, video_dir)
    return items


def _clip_path(video_dir: str | os.PathLike, youtube_id: str, start_s: int) -> Path | None:
    for digits in (CLIP_DIGITS, RELEASE_DIGITS):
        path = Path(video_dir) / clip_file_name(clip_name(youtube_id, start_s, digits))
        if path.exists():
            return path
    return None


def items_from_folder(video_dir: str | os.PathLike) -> list[ClipItem]:
    """Every ``<youtube_id>_<start>.mp4`` of a folder, in name order (candidates for a training list)."""
    return [ClipItem(str(p), p.stem) for p in sorted(Path(video_dir).glob("*.mp4"))]


def filter_by_list(items: list[ClipItem], list_path: str | os.PathLike) -> list[ClipItem]:
    """The items a training list (the release's ``vggsound_10k.txt``) selects; logs which line format it found."""
    try:
        listed = read_id_list(list_path)
    except OSError as exc:
        raise TavloError(f"data.train_list {list_path}: cannot be read ({exc.strerror or exc})") from None
    chosen, unmatched = listed.select_names(item.name for item in items)
    log.info("training list %s; %s", listed.describe(), listed.report(len(chosen), len(items), unmatched))
    if not chosen:
        raise TavloError(f"data.train_list {list_path}: none of its {len(listed.entries)} entries "
                         f"({listed.format or 'no valid line'}) matches one of the {len(items)} training clip(s)")
    return [items[i] for i in chosen]


def training_items(data: DataConfig) -> list[ClipItem]:
    """Training videos of ``data``: the AVATAR-Synth split file when ``data.root`` is set, else the CSV, else (with
    ``data.train_list``) every video of ``data.videos``; a training list then keeps the clips it names."""
    if data.root and not data.csv:
        gt_path = Path(data.root) / "annotations" / f"{data.train_split}.json"
        gt = AvatarDataset.load(gt_path, validate=False)
        video_dir = Path(data.videos or Path(data.root) / "videos")
        items = [ClipItem(str(video_dir / (v.file_name or clip_file_name(v.name))), v.name) for v in gt.videos]
    elif data.csv:
        items = items_from_csv(data.csv, data.videos or Path(data.csv).parent / "videos", data.train_split)
    elif data.train_list and data.videos:
        items = items_from_folder(data.videos)
    else:
        raise TavloError("data: expected data.root (an AVATAR-Synth folder) or data.csv + data.videos, got neither")
    return filter_by_list(items, data.train_list) if data.train_list else items


def usable(items: list[ClipItem]) -> list[ClipItem]:
    """Items whose video opens with a video and an audio stream; the others are logged with their reason."""
    keep, reasons = [], {}
    for item in items:
        try:
            probe_fps(item.path)
            keep.append(item)
        except TavloError as exc:
            reasons[item.name] = str(exc)
    for name, why in list(reasons.items())[:20]:
        log.warning("skipping %s: %s", name, why)
    if reasons:
        log.warning("%d of %d video(s) skipped as unusable", len(reasons), len(items))
    return keep


def window(anchor: int, fps: float, num_frames: int, clip_seconds: float, n_frames: int) -> tuple[list[int], float]:
    """Frame indices of the window (clamped to the video) and the start time of its audio
    (``avatar_bench.window.model_window``: the synth cue check places frames the same way)."""
    return model_window(anchor, fps, num_frames, clip_seconds, n_frames)


class ClipDataset(torch.utils.data.Dataset):
    """Clip windows of videos as ``frames (T,3,S,S)`` float, ``spec (1,n_mels,W)`` float, ``image_id``, ``index``.

    Randomness (training anchors, crops, flips) comes from ``(seed, epoch, index)`` alone, so any worker count,
    and a resumed run, see the same samples. Call :meth:`set_epoch` before each epoch.
    """

    def __init__(self, items: list[ClipItem], model: ModelConfig, data: DataConfig, train: bool, seed: int = 0):
        self.items, self.m, self.d, self.train, self.seed, self.epoch = items, model, data, train, seed, 0
        self.audio = AudioParams(model.sample_rate, model.n_fft, int(round(model.sample_rate * model.hop_ms / 1000)),
                                 model.n_mels)
        self.frame_px = int(round(model.img_size * 1.15)) if train else model.img_size  # room for crops
        self.cache = FrameCache(data.cache_dir, self.frame_px, self.audio) if data.cache_dir else None
        self.repeats = data.windows_per_video if train else 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items) * self.repeats

    def __getitem__(self, index: int) -> dict:
        item = self.items[index % len(self.items)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.cache is not None:
            video = self.cache.get(item.path, item.name)
            n_frames, fps = len(video.frames), video.fps
        else:
            fps, n_frames = probe_fps(item.path)
        part = (index // len(self.items)) % self.repeats  # window k of a video comes from the k-th stretch of it
        anchor = item.anchor if item.anchor >= 0 else self._random_anchor(rng, fps, n_frames, part)
        idx, t_start = window(anchor, fps, self.m.num_frames, self.m.clip_seconds, max(n_frames, 1))
        if self.cache is not None:
            frames, mel = np.asarray(video.frames[idx]), video.mel
        else:
            frames, _ = decode_frames(item.path, idx, self.frame_px)
            mel = video_mel(item.path, self.audio)
        col = int(round(t_start * self.audio.sample_rate / self.audio.hop))
        spec = slice_columns(mel, col, self.m.spec_frames)
        return {"frames": self._transform(frames, rng), "spec": torch.from_numpy(spec)[None],
                "image_id": item.image_id, "index": index}

    def _random_anchor(self, rng: np.random.Generator, fps: float, n_frames: int, part: int = 0) -> int:
        """An anchor keeping the window inside the video, from stretch ``part`` of ``repeats`` equal stretches."""
        d = self.m.clip_seconds / self.m.num_frames
        lo = int(np.ceil((self.m.num_frames // 2) * d * fps))
        hi = int(n_frames - 1 - np.ceil((self.m.num_frames - 1 - self.m.num_frames // 2) * d * fps))
        if hi < lo:
            return n_frames // 2
        edges = np.linspace(lo, hi + 1, self.repeats + 1)
        return int(rng.integers(int(edges[part]), max(int(edges[part + 1]), int(edges[part]) + 1)))

    def _transform(self, frames: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255)  # (T, 3, s, s)
        size = self.m.img_size
        if self.train:
            s = x.shape[-1]
            area = s * s * rng.uniform(self.d.crop_scale_min, 1.0)
            ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
            w = int(min(s, round(np.sqrt(area * ratio))))
            h = int(min(s, round(np.sqrt(area / ratio))))
            top, left = int(rng.integers(0, s - h + 1)), int(rng.integers(0, s - w + 1))
            x = x[..., top : top + h, left : left + w]
            if self.d.hflip and rng.random() < 0.5:
                x = x.flip(-1)
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return (x - MEAN) / STD


def collate(batch: list[dict]) -> dict:
    """Stack samples into ``frames (B,T,3,S,S)``, ``spec (B,1,M,W)``, ``image_id (B,)``, ``index (B,)``."""
    return {"frames": torch.stack([b["frames"] for b in batch]), "spec": torch.stack([b["spec"] for b in batch]),
            "image_id": torch.tensor([b["image_id"] for b in batch]),
            "index": torch.tensor([b["index"] for b in batch])}


class ShardSampler(torch.utils.data.Sampler):
    """Epoch-seeded shuffled (or ordered) indices, split over DDP ranks, resumable mid-epoch with :meth:`skip`.

    Like ``DistributedSampler`` (padding so every rank gets the same count), plus a start offset so a run resumed
    from a mid-epoch checkpoint continues with exactly the samples it would have seen. With ``group = R > 1`` the
    dataset holds R windows per video (index ``v + k * n / R`` is window k of video v) and the R windows of a
    video are yielded together, so they share a batch (batch sizes are multiples of R).
    """

    def __init__(self, n: int, shuffle: bool, seed: int = 0, rank: int = 0, world: int = 1, group: int = 1):
        self.n, self.shuffle, self.seed, self.rank, self.world, self.group = n, shuffle, seed, rank, world, group
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.start = epoch, 0

    def skip(self, n_samples: int) -> None:
        """Leave out this rank's first ``n_samples`` of the current epoch."""
        self.start = n_samples

    def _indices(self) -> list[int]:
        videos = self.n // self.group
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(videos, generator=g).tolist()
        else:
            order = list(range(videos))
        per_rank = -(-videos // self.world)
        order += order[: per_rank * self.world - videos]
        return [v + k * videos for v in order[self.rank :: self.world] for k in range(self.group)]

    def __iter__(self):
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        return -(-(self.n // self.group) // self.world) * self.group - self.start
