"""Audio front end (log-mel spectrogram, numpy) and the audio encoder with the rectangular final kernel.

The encoder turns the spectrogram of a whole clip window, ``(B, 1, n_mels, W)``, into one token per frame,
``(B, T, D_f)``: a stack of stride-2 conv stages gives a ``(H_a, W_a)`` map, and a final convolution with the
rectangular kernel ``K_h = H_a, K_w = floor(W_a / T)`` and stride ``K_w`` covers each frame's audio segment exactly
once (DESIGN.md section 6). When ``T`` does not divide ``W_a`` the ``W_a mod T`` remainder columns are cropped
evenly from both ends first, so there are always exactly ``T`` tokens and token ``t`` sees segment ``t``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from tavlo_model.errors import TavloError

LOG_FLOOR = 1e-6  # added before the log; silence maps to log(1e-6) ~ -13.8


@functools.lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """HTK-scale triangular mel filters, ``(n_mels, n_fft // 2 + 1)``, from 0 Hz to Nyquist."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - freqs[None]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def log_mel(wave: np.ndarray, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> np.ndarray:
    """Log-mel spectrogram ``(n_mels, 1 + len(wave) // hop)``; column ``j`` is centred on sample ``j * hop``."""
    wave = np.asarray(wave, dtype=np.float32)
    padded = np.pad(wave, (n_fft // 2, n_fft // 2))
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][: 1 + len(wave) // hop]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2  # (W, n_fft//2+1)
    mel = mel_filterbank(sample_rate, n_fft, n_mels) @ power.T.astype(np.float32)
    return np.log(mel + LOG_FLOOR).astype(np.float32)


def slice_columns(spec: np.ndarray, start: int, width: int) -> np.ndarray:
    """Columns ``[start, start + width)`` of ``spec``, padded with the silence value outside the clip."""
    out = np.full((spec.shape[0], width), np.log(LOG_FLOOR), dtype=np.float32)
    lo, hi = max(start, 0), min(start + width, spec.shape[1])
    if hi > lo:
        out[:, lo - start : hi - start] = spec[:, lo:hi]
    return out


def _stage_out(size: int) -> int:
    return (size - 1) // 2 + 1  # 3x3 conv, stride 2, padding 1


class AudioEncoder(nn.Module):
    """2-D CNN over a window's log-mel spectrogram -> one token per frame, ``(B, T, out_dim)``.

    Args:
        n_mels: spectrogram height.
        spec_frames: spectrogram width the encoder is built for (the window's columns).
        num_frames: T, the number of tokens (frames) to produce.
        channels: output channels of the stride-2 conv stages.
        out_dim: D_f, the token width.
    """

    def __init__(self, n_mels: int, spec_frames: int, num_frames: int, channels: tuple[int, ...], out_dim: int):
        super().__init__()
        self.spec_size = (n_mels, spec_frames)
        self.num_frames = num_frames
        self.norm = nn.BatchNorm2d(1)  # learns the log-mel offset/scale instead of fixed dataset constants
        stages, c_in, h, w = [], 1, n_mels, spec_frames
        for c in channels:
            stages += [nn.Conv2d(c_in, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in, h, w = c, _stage_out(h), _stage_out(w)
        if w < num_frames:
            raise TavloError(f"audio encoder: the {spec_frames}-column spectrogram shrinks to W_a = {w} columns, "
                             f"fewer than T = {num_frames} frames; use fewer conv stages or a longer clip")
        self.features = nn.Sequential(*stages)
        self.feat_size = (h, w)  # (H_a, W_a) entering the rectangular kernel
        self.kernel = (h, w // num_frames)  # (K_h, K_w)
        self.crop = ((w % num_frames) // 2, (w % num_frames) // 2 + num_frames * self.kernel[1])
        self.final = nn.Conv2d(c_in, out_dim, kernel_size=self.kernel, stride=(1, self.kernel[1]))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        if tuple(spec.shape[-2:]) != self.spec_size:
            raise TavloError(f"audio encoder: expected a (n_mels, frames) = {self.spec_size} spectrogram, "
                             f"got {tuple(spec.shape[-2:])}")
        x = self.features(self.norm(spec))  # (B, C, H_a, W_a)
        x = self.final(x[..., self.crop[0] : self.crop[1]])  # (B, D_f, 1, T)
        return x.flatten(2).transpose(1, 2)  # (B, T, D_f)
