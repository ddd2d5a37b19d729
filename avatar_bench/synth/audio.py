"""Sound synthesis: one waveform recipe per category, event envelopes, background noise and the mix.

An *event* is ``(onset_s, duration_s, amplitude)``. Its envelope (:func:`envelope`) shapes both the audio
of the event and the visual pulse of the instance that makes it, which is what ties picture and sound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from avatar_bench.synth.categories import BY_NAME

Event = tuple[float, float, float]  # onset_s, duration_s, amplitude
RELEASE_TAIL = 5.0  # envelopes are cut this many decay constants after the event ends

# Per-category fundamental frequency range (Hz): each instance draws its own pitch from it.
PITCH_HZ = {
    "drum": (60.0, 110.0),
    "bell": (500.0, 900.0),
    "bird": (2200.0, 3200.0),
    "engine": (45.0, 80.0),
    "horn": (330.0, 450.0),
    "dog": (300.0, 500.0),
}


def envelope(category: str, t: np.ndarray, duration: float) -> np.ndarray:
    """Amplitude envelope in [0, 1] of one event of ``category`` at times ``t`` (seconds after onset)."""
    spec = BY_NAME[category]
    t = np.asarray(t, dtype=np.float64)
    rise = np.clip(t / spec.attack_s, 0.0, 1.0)
    if spec.sustained:
        body = np.where(t <= duration, 1.0, np.exp(-(t - duration) / spec.decay_s))
    else:
        body = np.exp(-np.clip(t - spec.attack_s, 0.0, None) / spec.decay_s)
        body = np.where(t <= duration, body, body * np.exp(-(t - duration) / 0.02))
    end = event_length(category, duration)
    return np.where((t >= 0) & (t <= end), rise * body, 0.0)


def event_length(category: str, duration: float) -> float:
    """Seconds after the onset during which the event's envelope is non-zero."""
    spec = BY_NAME[category]
    return duration + RELEASE_TAIL * (spec.decay_s if spec.sustained else 0.02)


def pulse(category: str, events: Sequence[Event], times: np.ndarray) -> np.ndarray:
    """Envelope of an event train at ``times`` (max over overlapping events), in [0, 1]."""
    out = np.zeros(len(times), dtype=np.float64)
    for onset, dur, amp in events:
        lo, hi = np.searchsorted(times, [onset, onset + event_length(category, dur)])
        if hi > lo:
            out[lo:hi] = np.maximum(out[lo:hi], amp * envelope(category, times[lo:hi] - onset, dur))
    return out


def _harmonics(phase: np.ndarray, f_top: np.ndarray, sr: int, amps: Sequence[float]) -> np.ndarray:
    """Sum of harmonics k*phase with the given amplitudes, dropping those above 0.45 * sr."""
    out = np.zeros_like(phase)
    for k, a in enumerate(amps, start=1):
        if k * f_top < 0.45 * sr:
            out += a * np.sin(k * phase)
    return out


def waveform(category: str, t: np.ndarray, duration: float, pitch: float, sr: int,
             rng: np.random.Generator) -> np.ndarray:
    """The carrier of one event (before its envelope), peak about 1."""
    if category == "drum":
        f = pitch * (1.0 + 1.5 * np.exp(-t / 0.02))
        phase = 2 * np.pi * np.cumsum(f) / sr
        return np.sin(phase) + 0.6 * rng.standard_normal(len(t)) * np.exp(-t / 0.015)
    if category == "bell":
        out = np.zeros_like(t)
        for ratio, amp, tau in ((1.0, 1.0, 1.0), (2.0, 0.6, 0.6), (2.76, 0.5, 0.4), (5.4, 0.25, 0.2)):
            if ratio * pitch < 0.45 * sr:
                out += amp * np.sin(2 * np.pi * ratio * pitch * t) * np.exp(-t / tau)
        return out / 1.6
    if category == "bird":
        f = pitch * (1.0 + 0.25 * t / max(duration, 1e-3) + 0.18 * np.sin(2 * np.pi * 14.0 * t))
        return np.sin(2 * np.pi * np.cumsum(f) / sr)
    if category == "engine":
        f = pitch * (1.0 + 0.6 * np.clip(t / max(0.5 * duration, 1e-3), 0, 1))
        phase = 2 * np.pi * np.cumsum(f) / sr
        rough = 1.0 + 0.3 * np.sin(2 * np.pi * 23.0 * t)
        return rough * _harmonics(phase, f.max(initial=pitch), sr, [k**-0.5 for k in range(1, 25)]) / 5.0
    if category == "horn":
        out = np.zeros_like(t)
        for ratio in (1.0, 1.26):
            phase = 2 * np.pi * ratio * pitch * t
            out += _harmonics(phase, np.float64(ratio * pitch), sr, [1, 0, 1 / 3, 0, 1 / 5, 0, 1 / 7])
        return out / 2.2
    if category == "dog":
        f = pitch * (1.2 - 0.4 * np.clip(t / max(duration, 1e-3), 0, 1))
        phase = 2 * np.pi * np.cumsum(f) / sr
        formant = [np.exp(-(((k * pitch) - 1200.0) / 600.0) ** 2) for k in range(1, 13)]
        return _harmonics(phase, f.max(initial=pitch), sr, formant) / 2.0 + 0.25 * rng.standard_normal(len(t))
    raise KeyError(f"unknown category {category!r}")


def render_source(category: str, events: Sequence[Event], pitch: float, n_samples: int, sr: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Mono signal of one source: each event's carrier times its envelope, added at its onset."""
    out = np.zeros(n_samples, dtype=np.float64)
    for onset, dur, amp in events:
        start = int(round(onset * sr))
        stop = min(n_samples, start + int(np.ceil(event_length(category, dur) * sr)))
        if stop <= start:
            continue
        t = np.arange(stop - start, dtype=np.float64) / sr
        out[start:stop] += amp * envelope(category, t, dur) * waveform(category, t, dur, pitch, sr, rng)
    return out


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f) noise, made by shaping white noise in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spec / np.sqrt(f), n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def mix(tracks: Sequence[tuple[np.ndarray, float]], n_samples: int, channels: int, noise_rms: float,
        rng: np.random.Generator, level_rms: float = 0.1, max_peak: float = 0.9) -> np.ndarray:
    """Mix mono tracks with their stereo pan in [-1, 1], set the loudness, add background noise.

    The mix is scaled so that its RMS *over the samples where a source sounds* is ``level_rms`` (sparse
    percussive sources are as loud as sustained ones), unless that would push the peak over ``max_peak``.

    Returns:
        float32 array ``(channels, n_samples)``.
    """
    out = np.zeros((channels, n_samples), dtype=np.float64)
    for signal, pan in tracks:
        if channels == 1:
            out[0] += signal
        else:  # constant-power panning
            angle = (pan + 1.0) * np.pi / 4.0
            out[0] += np.cos(angle) * signal
            out[1] += np.sin(angle) * signal
    sounding = np.any(out != 0, axis=0)
    if sounding.any():
        rms = np.sqrt(np.mean(out[:, sounding] ** 2))
        out *= min(level_rms / rms, max_peak / np.abs(out).max())
    if noise_rms > 0:
        out += noise_rms * pink_noise(n_samples, rng)[None, :]
    return np.clip(out, -1.0, 1.0).astype(np.float32)
