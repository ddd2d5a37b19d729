"""The Kaldi fbank front end against kaldi-native-fbank (a C++ port of Kaldi) and librosa."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.proposals.fbank import fbank, kaldi_mel_banks, mel_scale, pad_or_cut


def _signal(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.1 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)


@pytest.mark.parametrize("bins", [23, 64, 80])
def test_matches_kaldi_native_fbank(bins):
    knf = pytest.importorskip("kaldi_native_fbank", reason="kaldi-native-fbank is the independent Kaldi reference")
    x = _signal()
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.window_type = "hanning"
    opts.mel_opts.num_bins = bins
    opts.use_energy, opts.htk_compat = False, True
    ref = knf.OnlineFbank(opts)
    ref.accept_waveform(16000, x.tolist())
    ref.input_finished()
    expected = np.stack([ref.get_frame(i) for i in range(ref.num_frames_ready)])
    got = fbank(torch.from_numpy(x), num_mel_bins=bins).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 2e-3 and np.abs(got - expected).mean() < 1e-4


def test_frame_count_and_short_audio():
    assert fbank(np.zeros(16000 * 10, np.float32)).shape == (998, 128)  # 1 + (160000 - 400) // 160
    assert fbank(np.zeros(399, np.float32)).shape == (0, 128)  # shorter than one 25 ms window
    padded = pad_or_cut(fbank(np.ones(16000, np.float32)), 1024)
    assert padded.shape == (1024, 128) and torch.all(padded[98:] == 0)
    assert pad_or_cut(torch.ones(2000, 128), 1024).shape == (1024, 128)


def test_128_bin_mel_banks_follow_kaldi_and_librosa_centres():
    """Kaldi refuses 128 bins at 16 kHz (bin 3 gets no FFT bin); torchaudio and CAV-MAE use them anyway."""
    librosa = pytest.importorskip("librosa")
    banks = kaldi_mel_banks(128)
    assert banks.shape == (128, 257) and np.all(banks[:, -1] == 0)
    assert np.flatnonzero(banks.sum(1) == 0).tolist() == [3]  # the empty filter torchaudio also produces
    # Kaldi's 1127 ln(1 + f/700) is librosa's HTK mel scale 2595 log10(1 + f/700).
    freqs = np.array([20.0, 440.0, 1000.0, 8000.0])
    assert np.allclose(mel_scale(freqs), librosa.hz_to_mel(freqs, htk=True), rtol=1e-4)  # 1127·ln10 = 2594.99
    peaks = np.argmax(banks[:, :-1], axis=1)
    with pytest.warns(UserWarning, match="Empty filters"):  # librosa sees the narrow low filters too
        lib = librosa.filters.mel(sr=16000, n_fft=512, n_mels=128, fmin=20, fmax=8000, htk=True, norm=None)
    busy = banks.sum(1) > 0
    assert np.abs(peaks[busy] - np.argmax(lib, axis=1)[busy]).max() <= 1


def test_close_to_a_librosa_log_mel_pipeline():
    """Same framing/window/filters in librosa terms: differences are the triangles (mel- vs Hz-linear)."""
    librosa = pytest.importorskip("librosa")
    x = _signal(seed=1)
    frames = librosa.util.frame(x, frame_length=400, hop_length=160).T.astype(np.float64)
    frames -= frames.mean(1, keepdims=True)
    frames[:, 1:] -= 0.97 * frames[:, :-1].copy()
    frames[:, 0] -= 0.97 * frames[:, 0]
    frames *= np.hanning(400)
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    lib = librosa.filters.mel(sr=16000, n_fft=512, n_mels=128, fmin=20, fmax=8000, htk=True, norm=None)
    ref = np.log(np.maximum(power @ lib.T, np.finfo(np.float32).eps))
    got = fbank(x).numpy().astype(np.float64)
    busy = kaldi_mel_banks(128).sum(1) > 0
    busy[:8] = False  # the narrowest filters (a few FFT bins wide) differ most in shape
    assert got.shape == ref.shape
    assert np.median(np.abs(got[:, busy] - ref[:, busy])) < 0.1
    assert np.corrcoef(got[:, busy].ravel(), ref[:, busy].ravel())[0, 1] > 0.99
