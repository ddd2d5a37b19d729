"""Multiple-instance contrastive loss with frame-level bags (EZ-VSL, extended over time for TAVLO).

Each frame of a clip is a bag of ``H*W`` locations. For the pair (audio i, frames j) and frame t the bag score is
``max`` over locations when i == j (the sounding object is somewhere in the frame) and, for negatives (i != j),
the ``mean`` (TAVLO: every location of a wrong clip should disagree) or the ``max`` (EZ-VSL). Logits are scores / tau;
cross-entropy picks the positive among the clip's negatives in both directions (audio -> frames and frames ->
audio), averaged over clips and frames, and the two directions are summed as in EZ-VSL's ``max_xmil_loss``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def negative_pairs(batch: int, num_negatives: int = -1, device: torch.device | str = "cpu") -> torch.Tensor:
    """Pairs ``(i, (i + k) % B)`` for ``k = 0..K`` as a ``((K+1)*B, 2)`` tensor, shift-major; k = 0 are positives.

    Args:
        batch: B, the number of clips.
        num_negatives: K, negatives per clip (-1 or >= B-1: all other clips, K = B-1).
        device: device of the returned tensor.
    """
    k = batch - 1 if num_negatives < 0 else min(num_negatives, batch - 1)
    i = torch.arange(batch, device=device)
    return torch.cat([torch.stack([i, (i + s) % batch], dim=1) for s in range(k + 1)])


def frame_mil_loss(sims: torch.Tensor, tau: float, negatives: str = "mean") -> torch.Tensor:
    """Contrastive loss of shifted pair similarities.

    Args:
        sims: ``(K+1, B, T, L)`` cosine similarities; ``sims[k, i]`` is the pair (audio i, frames (i + k) % B)
            over the L = H*W locations of each of the T frames (the layout of :func:`negative_pairs`).
        tau: temperature.
        negatives: "mean" (TAVLO) or "max" (EZ-VSL) pooling of a negative pair's locations.

    Returns:
        A scalar: mean cross-entropy audio -> frames plus mean cross-entropy frames -> audio.
    """
    shifts = sims.shape[0]
    pos = sims[0].amax(dim=-1)  # (B, T)
    neg = sims[1:].mean(dim=-1) if negatives == "mean" else sims[1:].amax(dim=-1)  # (K, B, T)
    logits_a2v = torch.cat([pos[None], neg]) / tau  # for audio i: its frames vs frames of clips i+1..i+K
    # frames j met audio j-k in pair (j-k, j) = neg[k-1, j-k]: roll shift k back onto index j
    neg_v = [torch.roll(neg[s - 1], shifts=s, dims=0) for s in range(1, shifts)]
    logits_v2a = torch.cat([pos[None], *[n[None] for n in neg_v]]) / tau
    loss_a2v = -F.log_softmax(logits_a2v.float(), dim=0)[0].mean()
    loss_v2a = -F.log_softmax(logits_v2a.float(), dim=0)[0].mean()
    return loss_a2v + loss_v2a
