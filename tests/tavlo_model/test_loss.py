"""Loss: a hand-computed value, and equality with EZ-VSL's max_xmil_loss written out as a full B x B matrix."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tavlo_model.loss import frame_mil_loss, negative_pairs


def _sims() -> torch.Tensor:
    # (K+1=2, B=2, T=1, L=2): sims[k, i] is (audio i, frames (i+k) % 2)
    return torch.tensor([[[[0.5, 0.1]], [[0.2, 0.4]]],  # positives: clip 0, clip 1
                         [[[0.3, -0.1]], [[0.0, 0.4]]]])  # (audio 0, frames 1), (audio 1, frames 0)


def _ce(pos: float, neg: float) -> float:
    return math.log1p(math.exp(neg - pos))  # -log(e^pos / (e^pos + e^neg))


def test_hand_computed_mean_negatives():
    # tau 0.1: positives = max -> 5 and 4; negatives = mean -> (0.3-0.1)/2 = 0.1 -> 1 and (0+0.4)/2 = 0.2 -> 2
    a2v = (_ce(5, 1) + _ce(4, 2)) / 2  # audio 0 vs frames 1; audio 1 vs frames 0
    v2a = (_ce(5, 2) + _ce(4, 1)) / 2  # frames 0 vs audio 1; frames 1 vs audio 0
    got = frame_mil_loss(_sims(), tau=0.1, negatives="mean")
    assert got.item() == pytest.approx(a2v + v2a, rel=1e-6)


def test_hand_computed_max_negatives():
    # negatives = max -> 0.3 -> 3 and 0.4 -> 4
    a2v = (_ce(5, 3) + _ce(4, 4)) / 2
    v2a = (_ce(5, 4) + _ce(4, 3)) / 2
    assert frame_mil_loss(_sims(), tau=0.1, negatives="max").item() == pytest.approx(a2v + v2a, rel=1e-6)


def _ezvsl_reference(full: torch.Tensor, tau: float) -> torch.Tensor:
    """EZ-VSL's max_xmil_loss: full[i_audio, j_frames, L]; logits[n_img, m_aud] = max_L / tau."""
    logits = full.amax(-1).T / tau
    labels = torch.arange(full.shape[0])
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)


def test_equals_ezvsl_with_all_negatives_one_frame():
    torch.manual_seed(0)
    b, length = 5, 7
    full = torch.rand(b, b, length) * 2 - 1
    pairs = negative_pairs(b)  # all B-1 negatives
    assert pairs.shape == (b * b, 2) and len({tuple(p) for p in pairs.tolist()}) == b * b
    sims = full[pairs[:, 0], pairs[:, 1]].reshape(b, b, 1, length)
    got = frame_mil_loss(sims, tau=0.07, negatives="max")
    torch.testing.assert_close(got, _ezvsl_reference(full, 0.07))


def test_frame_bags_average_over_frames():
    torch.manual_seed(1)
    sims = torch.rand(3, 3, 4, 5)
    per_frame = [frame_mil_loss(sims[:, :, t : t + 1], 0.05, "mean") for t in range(4)]
    torch.testing.assert_close(frame_mil_loss(sims, 0.05, "mean"), torch.stack(per_frame).mean())


def test_sampled_negatives():
    pairs = negative_pairs(6, num_negatives=2)
    assert pairs.shape == (18, 2)
    assert pairs[:6].tolist() == [[i, i] for i in range(6)] and pairs[6:12, 1].tolist() == [1, 2, 3, 4, 5, 0]
    assert negative_pairs(3, num_negatives=10).shape == (9, 2)  # capped at B - 1
