"""Video and audio decoding with PyAV, and the frame cache.

Frames are converted by libswscale straight to ``size x size`` RGB (the whole frame, aspect not kept, as EZ-VSL's
evaluation resize), so the cached and uncached paths give the same pixels. Audio is resampled to mono float32 at
the model's rate and placed on the video's clock (sample 0 = time 0).

The cache keeps, per video, ``<name>.<size>px.npy`` (uint8 ``(N, size, size, 3)``, memory-mapped when read),
``<name>.<mel key>.npy`` (the whole track's log-mel) and ``<name>.meta.json``; files are written atomically, so
DataLoader workers (and DDP ranks) may fill it concurrently.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bench.io import atomic_path, atomic_write_json
from tavlo_model.audio import log_mel
from tavlo_model.errors import TavloError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioParams:
    """What the log-mel front end needs (from the model config)."""

    sample_rate: int
    n_fft: int
    hop: int  # samples
    n_mels: int

    @property
    def key(self) -> str:
        return f"mel{self.n_mels}-{self.sample_rate}-{self.n_fft}-{self.hop}"


@dataclass
class DecodedVideo:
    """A video's frames (all of them, or a memory map) and the log-mel spectrogram of its whole track."""

    frames: np.ndarray  # (N, size, size, 3) uint8
    fps: float
    mel: np.ndarray  # (n_mels, columns) float32, column j at time j * hop / sample_rate


def _open(path: str | os.PathLike):
    import av

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise TavloError(f"video {path}: cannot be opened ({exc})") from None


def probe_fps(path: str | os.PathLike) -> tuple[float, int]:
    """(fps, estimated frame count) of the first video stream; raises if there is no video or audio stream."""
    with _open(path) as container:
        if not container.streams.video:
            raise TavloError(f"video {path}: expected a video stream, found none")
        if not container.streams.audio:
            raise TavloError(f"video {path}: expected an audio stream, found none")
        vs = container.streams.video[0]
        fps = float(vs.average_rate or vs.guessed_rate or 0)
        if fps <= 0:
            raise TavloError(f"video {path}: expected a positive frame rate, got {fps}")
        n = vs.frames or int((container.duration or 0) / 1e6 * fps)
        return fps, n


def _frame_index(frame, fps: float, start: float) -> int:
    return int(round((float(frame.time or 0.0) - start) * fps))


def decode_frames(path: str | os.PathLike, indices: list[int] | None, size: int) -> tuple[np.ndarray, float]:
    """Frames ``indices`` (all when ``None``) as uint8 ``(len, size, size, 3)``, and the fps.

    Indices past the last decodable frame repeat the last frame (stream frame counts are estimates).
    """
    with _open(path) as container:
        if not container.streams.video:
            raise TavloError(f"video {path}: expected a video stream, found none")
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        fps = float(vs.average_rate or vs.guessed_rate or 0)
        start = float(vs.start_time or 0) * float(vs.time_base or 0)
        wanted = None if indices is None else sorted(set(indices))
        if wanted:
            first_pts = int((start + wanted[0] / fps) / float(vs.time_base))
            container.seek(max(first_pts, 0), stream=vs, backward=True)
        got: dict[int, np.ndarray] = {}
        pending = list(wanted or [])  # wanted indices not filled yet, ascending
        frame = None
        try:
            for frame in container.decode(vs):
                idx = _frame_index(frame, fps, start)
                if wanted is None:
                    got[idx] = frame.to_ndarray(width=size, height=size, format="rgb24")
                    continue
                if pending and pending[0] <= idx:  # the first frame at or after a wanted index stands for it
                    image = frame.to_ndarray(width=size, height=size, format="rgb24")
                    while pending and pending[0] <= idx:
                        got[pending.pop(0)] = image
                if not pending:
                    break
        except Exception as exc:  # PyAV raises several FFmpeg error types for corrupt streams
            raise TavloError(f"video {path}: decoding failed ({exc})") from None
        if pending and frame is not None:  # past the last frame (stream frame counts are estimates)
            image = frame.to_ndarray(width=size, height=size, format="rgb24")
            got.update({i: image for i in pending})
    if not got:
        raise TavloError(f"video {path}: expected decodable frames, found none")
    if indices is None:
        return np.stack([got[i] for i in sorted(got)]), fps
    return np.stack([got[i] for i in indices]), fps


def decode_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """The first audio stream as mono float32 at ``sample_rate``, sample 0 at time 0 of the video."""
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise TavloError(f"video {path}: expected an audio stream, found none")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks, offset = [], None
        try:
            for frame in container.decode(audio=0):
                if offset is None:
                    offset = float(frame.time or 0.0)
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        except Exception as exc:
            raise TavloError(f"video {path}: audio decoding failed ({exc})") from None
    wave = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    shift = int(round((offset or 0.0) * sample_rate))
    return np.pad(wave, (shift, 0)) if shift > 0 else wave[-shift:]


def video_mel(path: str | os.PathLike, audio: AudioParams) -> np.ndarray:
    """Log-mel spectrogram of a video's whole audio track, ``(n_mels, columns)``."""
    wave = decode_audio(path, audio.sample_rate)
    return log_mel(wave, audio.sample_rate, audio.n_fft, audio.hop, audio.n_mels)


class FrameCache:
    """Decode each video once to uint8 frames and a log-mel track; later reads are memory maps."""

    def __init__(self, cache_dir: str | os.PathLike, size: int, audio: AudioParams):
        self.dir = Path(cache_dir)
        self.size = size
        self.audio = audio

    def _paths(self, name: str) -> tuple[Path, Path, Path]:
        return (self.dir / f"{name}.{self.size}px.npy", self.dir / f"{name}.{self.audio.key}.npy",
                self.dir / f"{name}.meta.json")

    def get(self, path: str | os.PathLike, name: str) -> DecodedVideo:
        """The cached video ``name`` (decoding ``path`` first when it is not cached yet)."""
        frames_p, mel_p, meta_p = self._paths(name)
        if not (frames_p.exists() and mel_p.exists() and meta_p.exists()):
            frames, fps = decode_frames(path, None, self.size)
            self._write(frames_p, frames)
            self._write(mel_p, video_mel(path, self.audio))
            # meta last: its presence marks a complete entry
            atomic_write_json(meta_p, {"fps": fps, "n_frames": len(frames), "source": str(path)})
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
        return DecodedVideo(np.load(frames_p, mmap_mode="r"), float(meta["fps"]), np.load(mel_p))

    @staticmethod
    def _write(path: Path, array: np.ndarray) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, array)
