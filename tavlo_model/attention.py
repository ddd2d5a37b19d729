"""Factorized audio-visual space-time (AST) blocks.

Tokens are laid out ``(B, T, N, D)`` with ``N = 1 + H*W``: per frame, the frame's audio token followed by its
``H*W`` visual tokens. A block runs spatial self-attention over the tokens of each frame, then temporal
self-attention over the T frames of each token position, then an MLP (pre-norm residuals, as in ViT/TimeSformer).

How the spatial step mixes a frame's tokens is a setting (``spatial``):

- ``"joint"``: the 1 + H*W tokens attend to each other (audio and visual together);
- ``"separate"``: the visual tokens attend to visual tokens and the audio token to itself (attention over one key
  returns its own value), so locations depend on the frames only and the audio token on the audio only;
- ``"audio_to_visual"``: the visual tokens attend to the frame's audio token and to visual tokens, the audio token
  to itself: each location reads its frame's sound (so the temporal step that follows sees, per location, the
  history of "what was here while what was heard"), while the audio token, the other side of the heatmap's
  cosine, stays a function of the audio alone.

``radius`` >= 0 limits visual-to-visual attention to the tokens within that Chebyshev distance on the grid
(0: each location alone); -1 is the whole frame. Then the temporal step gives every token its own history.

One block costs ``T*N'^2 + N*T^2`` attention scores per head (``N' = N`` joint or audio_to_visual, ``H*W``
separate, none for separate with radius 0; masked scores are computed too), against ``(T*N)^2`` for one
attention over all tokens: per token ``N' + T`` instead of ``T*N``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention over the middle axis of ``(batch, length, dim)``."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))  # (n, length, dim)

    def self_only(self, x: torch.Tensor) -> torch.Tensor:
        """Each token attending to itself alone: the softmax over one key is 1, so the output is its value."""
        dim = x.shape[-1]
        return self.proj(F.linear(x, self.qkv.weight[2 * dim :], self.qkv.bias[2 * dim :]))


class Mlp(nn.Sequential):
    def __init__(self, dim: int, ratio: float, dropout: float):
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


def local_mask(grid: int, radius: int, spatial: str = "separate") -> torch.Tensor | None:
    """Boolean ``(L, L)`` attention mask (True = may attend) of grid locations within ``radius``; None = all.

    ``spatial`` other than ``"separate"`` puts the audio token first: ``"joint"`` lets it attend to and be
    attended by every token; ``"audio_to_visual"`` lets every visual token read it while it attends to itself.
    """
    if radius < 0 and spatial != "audio_to_visual":
        return None
    yy, xx = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    pos = torch.stack([yy.flatten(), xx.flatten()], dim=1)
    mask = (pos[:, None] - pos[None]).abs().amax(-1) <= (radius if radius >= 0 else grid)
    if spatial != "separate":
        mask = F.pad(mask, (1, 0, 1, 0), value=True)
    if spatial == "audio_to_visual":
        mask[0, 1:] = False
    return mask


class FactorizedBlock(nn.Module):
    """Spatial attention within each frame, then temporal attention across frames per position, then an MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 spatial: str = "separate", grid: int = 0, radius: int = -1):
        super().__init__()
        self.spatial_mode, self.radius = spatial, radius
        self.register_buffer("mask", local_mask(grid, radius, spatial), persistent=False)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.spatial = Attention(dim, num_heads, dropout)
        self.temporal = Attention(dim, num_heads, dropout)
        self.mlp = Mlp(dim, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, n, d = x.shape  # (B, T, 1+H*W, D)
        y = self.norm1(x)
        if self.spatial_mode != "separate":  # the audio token takes part (joint, or read by the visual tokens)
            x = x + self.spatial(y.reshape(b * t, n, d), self.mask).reshape(b, t, n, d)
        elif self.radius == 0:  # every token alone: its own value
            x = x + self.spatial.self_only(y)
        else:
            visual = self.spatial(y[:, :, 1:].reshape(b * t, n - 1, d), self.mask).reshape(b, t, n - 1, d)
            x = x + torch.cat([self.spatial.self_only(y[:, :, :1]), visual], dim=2)
        y = self.norm2(x).transpose(1, 2).reshape(b * n, t, d)  # (B*N, T, D): one sequence per token position
        x = x + self.temporal(y).reshape(b, n, t, d).transpose(1, 2)
        return x + self.mlp(self.norm3(x))


def attention_scores(num_frames: int, tokens_per_frame: int, depth: int, num_heads: int, batch: int = 1,
                     spatial: str = "separate", radius: int = -1) -> int:
    """Analytic number of attention scores (softmax entries, masked ones included) of ``depth`` blocks."""
    t, n = num_frames, tokens_per_frame
    spatial = n if spatial != "separate" else 0 if radius == 0 else n - 1
    return depth * num_heads * batch * (t * spatial * spatial + n * t * t)
