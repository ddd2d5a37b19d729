"""Kaldi-compatible log-mel filter banks in plain torch (what ``torchaudio.compliance.kaldi.fbank`` computes).

torchaudio is not a dependency (it pins its own torch), so the CAV-MAE front end is written here. It follows
Kaldi's ``compute-fbank-feats`` with the options CAV-MAE uses (``htk_compat=True, use_energy=False,
window_type='hanning', num_mel_bins=128, dither=0, frame_shift=10``) and Kaldi's defaults for the rest:

- frames of 25 ms every 10 ms, ``snip_edges=True``: ``1 + (N - 400) // 160`` frames at 16 kHz;
- per frame: remove the DC offset, pre-emphasis 0.97 (the first sample is emphasised against itself), a
  *symmetric* Hann window ("hanning": ``0.5 - 0.5 cos(2πn/(N-1))``), zero-pad to 512 (next power of two);
- power spectrum ``|rfft|²``, 128 triangular filters that are linear on the mel scale
  ``mel(f) = 1127 ln(1 + f/700)``, from 20 Hz to Nyquist (the Nyquist bin gets weight 0);
- natural log, floored at float32 epsilon.

Tests compare it with kaldi-native-fbank (a C++ port of Kaldi's feature code, when installed) and with librosa's
HTK-scale mel filters (which are triangles in Hz, not in mel: a small, documented difference).
"""

from __future__ import annotations

import math

import numpy as np

SAMPLE_RATE = 16000
NUM_MEL_BINS = 128
FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
LOW_FREQ = 20.0
PREEMPHASIS = 0.97


def mel_scale(freq):
    """Kaldi's mel scale: ``1127 ln(1 + f / 700)`` (numpy or float)."""
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


def padded_window_size(window_size: int) -> int:
    """Next power of two ≥ the window (Kaldi's ``round_to_power_of_two``)."""
    return 1 << max(0, (window_size - 1).bit_length())


def kaldi_mel_banks(num_bins: int = NUM_MEL_BINS, n_fft: int = 512, sample_rate: int = SAMPLE_RATE,
                    low_freq: float = LOW_FREQ, high_freq: float = 0.0) -> np.ndarray:
    """Kaldi's triangular mel filters, shape ``(num_bins, n_fft // 2 + 1)`` (float64, last column zero).

    Args:
        num_bins: number of mel filters.
        n_fft: padded FFT size.
        sample_rate: Hz.
        low_freq: lower edge of the first filter (Hz).
        high_freq: upper edge of the last filter; ``<= 0`` means Nyquist + high_freq (Kaldi's convention).
    """
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq += nyquist
    n_half = n_fft // 2
    mel_low, mel_high = mel_scale(low_freq), mel_scale(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)
    left = mel_low + delta * np.arange(num_bins)[:, None]  # (num_bins, 1)
    center, right = left + delta, left + 2 * delta
    mel = mel_scale(np.arange(n_half) * (sample_rate / n_fft))[None, :]  # (1, n_half)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1)))  # Kaldi ignores the Nyquist bin


def _frames(wave, window: int, shift: int):
    """Strided frames (snip_edges=True): shape (num_frames, window)."""
    import torch

    n = wave.shape[-1]
    if n < window:
        return wave.new_zeros((0, window))
    count = 1 + (n - window) // shift
    return torch.as_strided(wave, (count, window), (shift * wave.stride(0), wave.stride(0)))


def fbank(waveform, sample_rate: int = SAMPLE_RATE, num_mel_bins: int = NUM_MEL_BINS,
          frame_length_ms: float = FRAME_LENGTH_MS, frame_shift_ms: float = FRAME_SHIFT_MS,
          low_freq: float = LOW_FREQ, high_freq: float = 0.0, preemphasis: float = PREEMPHASIS):
    """Log-mel filter bank features of a mono waveform, as Kaldi / torchaudio compute them.

    Args:
        waveform: 1-D float tensor or array (a ``(1, N)`` tensor is accepted too), samples in [-1, 1].
        sample_rate: Hz of the waveform.
        num_mel_bins: number of mel filters.
        frame_length_ms: window length.
        frame_shift_ms: hop.
        low_freq: lower edge of the filter bank (Hz).
        high_freq: upper edge; ``<= 0`` means relative to Nyquist.
        preemphasis: pre-emphasis coefficient.

    Returns:
        float32 tensor ``(num_frames, num_mel_bins)``; zero frames for audio shorter than one window.
    """
    import torch

    wave = torch.as_tensor(np.asarray(waveform) if not isinstance(waveform, torch.Tensor) else waveform)
    wave = wave.reshape(-1).to(torch.float32).contiguous()
    window = int(sample_rate * frame_length_ms / 1000.0)
    shift = int(sample_rate * frame_shift_ms / 1000.0)
    n_fft = padded_window_size(window)
    frames = _frames(wave, window, shift)  # (T, window)
    if frames.shape[0] == 0:  # shorter than one window: no frame (Kaldi / torchaudio give none either)
        return torch.zeros((0, num_mel_bins), dtype=torch.float32)
    frames = frames - frames.mean(dim=1, keepdim=True)  # remove_dc_offset
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - preemphasis * previous
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(window, dtype=torch.float64) / (window - 1))
    frames = frames * hann.to(torch.float32)
    spectrum = torch.fft.rfft(frames, n=n_fft).abs().pow(2)  # (T, n_fft/2 + 1)
    banks = torch.from_numpy(kaldi_mel_banks(num_mel_bins, n_fft, sample_rate, low_freq, high_freq)).to(torch.float32)
    energies = spectrum @ banks.T
    return torch.clamp_min(energies, torch.finfo(torch.float32).eps).log()


def pad_or_cut(features, target_frames: int):
    """Zero-pad at the end or cut to ``target_frames`` rows (CAV-MAE's ``ZeroPad2d`` / slice)."""
    import torch

    n = features.shape[0]
    if n >= target_frames:
        return features[:target_frames]
    return torch.cat([features, features.new_zeros((target_frames - n, features.shape[1]))], dim=0)
