"""Building blocks: each category's look and sound are distinct, and its sound follows its visual pulse."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_bench.synth.audio import PITCH_HZ, envelope, mix, pulse, render_source
from avatar_bench.synth.categories import BY_NAME, CATEGORIES, draw_sprite
from avatar_bench.synth.scene import plan_intervals, schedule

NAMES = [c.name for c in CATEGORIES]
SR, FPS = 16000, 25.0


def _events(name, seed=0):
    return schedule(BY_NAME[name], np.random.default_rng(seed), 0.0, 6.0, at_start=True)


@pytest.mark.parametrize("name", NAMES)
def test_the_sound_of_a_category_follows_its_visual_pulse(name):
    events = _events(name)
    assert len(events) >= 4
    audio = render_source(name, events, float(np.mean(PITCH_HZ[name])), 6 * SR, SR, np.random.default_rng(1))
    times = np.arange(int(6 * FPS)) / FPS
    half = SR // int(2 * FPS)  # RMS over the 1/fps window centred on each frame, as cue.py does
    rms = np.array([np.sqrt(np.mean(audio[max(0, int(t * SR) - half):int(t * SR) + half] ** 2)) for t in times])
    assert np.corrcoef(rms, pulse(name, events, times))[0, 1] > 0.8


def test_categories_look_and_sound_different():
    colours = {n: draw_sprite(n, 64)[0][draw_sprite(n, 64)[1]].mean(axis=0) for n in NAMES}
    shapes = {n: draw_sprite(n, 64)[1] for n in NAMES}
    bands = {}  # energy in 16 log-spaced bands, 50 Hz - 8 kHz: a coarse timbre/pitch signature
    edges = np.geomspace(50, SR / 2, 17)
    for n in NAMES:
        audio = render_source(n, [(0.0, 0.3, 1.0)], float(np.mean(PITCH_HZ[n])), SR, SR, np.random.default_rng(0))
        power, freqs = np.abs(np.fft.rfft(audio)) ** 2, np.fft.rfftfreq(SR, 1 / SR)
        e = np.array([power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges, edges[1:], strict=False)])
        bands[n] = e / np.linalg.norm(e)
    for i, a in enumerate(NAMES):
        for b in NAMES[i + 1:]:
            iou = (shapes[a] & shapes[b]).sum() / (shapes[a] | shapes[b]).sum()
            assert np.abs(colours[a] - colours[b]).sum() > 30 or iou < 0.7, (a, b)
            assert float(bands[a] @ bands[b]) < 0.7, (a, b)  # cosine similarity of the band energies


def test_glow_brightens_and_envelope_is_bounded():
    rgb0, alpha = draw_sprite("drum", 64)
    rgb1, alpha1 = draw_sprite("drum", 64, glow=1.0)
    assert np.array_equal(alpha, alpha1) and rgb1[alpha].mean() > rgb0[alpha].mean() + 20
    for name in NAMES:
        env = envelope(name, np.linspace(-0.1, 2.0, 500), 0.3)
        assert env.min() == 0.0 and 0.9 < env.max() <= 1.0 and env[-1] == 0.0


def test_planned_intervals_leave_real_silences():
    for seed in range(20):
        for n in (1, 2, 3):
            iv = plan_intervals(np.random.default_rng(seed), 10.0, n)
            assert len(iv) == n and 0 < iv[0][0] and iv[-1][1] < 10.0
            assert all(b[0] - a[1] >= 0.8 - 1e-9 for a, b in zip(iv, iv[1:], strict=False))


def test_mix_sets_the_level_of_the_sounding_part_and_keeps_silence_quiet():
    n = 4 * SR
    loud = np.zeros(n)
    loud[SR:2 * SR] = np.sin(np.arange(SR) * 0.3) * 0.01
    out = mix([(loud, 0.0)], n, 2, noise_rms=0.001, rng=np.random.default_rng(0))
    assert out.shape == (2, n) and out.dtype == np.float32
    active, quiet = out[:, SR:2 * SR], out[:, 2 * SR:]
    assert np.sqrt(np.mean(active**2)) == pytest.approx(0.1 / np.sqrt(2) * np.sqrt(2), rel=0.1)
    assert 20 * np.log10(np.sqrt(np.mean(active**2)) / np.sqrt(np.mean(quiet**2))) > 35
