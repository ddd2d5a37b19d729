"""Factorized audio-visual space-time (AST) blocks.

Tokens are laid out ``(B, T, N, D)`` with ``N = 1 + H*W``: per frame, the frame's audio token followed by its
``H*W`` visual tokens. A block runs spatial self-attention over the tokens of each frame, then temporal
self-attention over the T frames of each token position, then an MLP (pre-norm residuals, as in ViT/TimeSformer).

With ``cross_modal=False`` (the default of the model) the spatial step keeps the modalities apart: visual tokens
attend to the frame's visual tokens and the audio token to itself (attention over one key returns its own value),
so a location's feature comes from the frames alone and the audio token from the audio alone; the temporal step
then gives every token its own history. With ``cross_modal=True`` the N tokens attend jointly.

One block costs ``T*N'^2 + N*T^2`` attention scores per head (``N' = N`` joint, ``H*W`` otherwise), against
``(T*N)^2`` for one attention over all tokens: per token ``N' + T`` instead of ``T*N``.
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))  # (n, length, dim)

    def self_only(self, x: torch.Tensor) -> torch.Tensor:
        """Each token attending to itself alone: the softmax over one key is 1, so the output is its value."""
        dim = x.shape[-1]
        return self.proj(F.linear(x, self.qkv.weight[2 * dim :], self.qkv.bias[2 * dim :]))


class Mlp(nn.Sequential):
    def __init__(self, dim: int, ratio: float, dropout: float):
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))


class FactorizedBlock(nn.Module):
    """Spatial attention within each frame, then temporal attention across frames per position, then an MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 cross_modal: bool = False):
        super().__init__()
        self.cross_modal = cross_modal
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.spatial = Attention(dim, num_heads, dropout)
        self.temporal = Attention(dim, num_heads, dropout)
        self.mlp = Mlp(dim, mlp_ratio, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, n, d = x.shape  # (B, T, 1+H*W, D)
        y = self.norm1(x)
        if self.cross_modal:
            x = x + self.spatial(y.reshape(b * t, n, d)).reshape(b, t, n, d)
        else:
            visual = self.spatial(y[:, :, 1:].reshape(b * t, n - 1, d)).reshape(b, t, n - 1, d)
            x = x + torch.cat([self.spatial.self_only(y[:, :, :1]), visual], dim=2)
        y = self.norm2(x).transpose(1, 2).reshape(b * n, t, d)  # (B*N, T, D): one sequence per token position
        x = x + self.temporal(y).reshape(b, n, t, d).transpose(1, 2)
        return x + self.mlp(self.norm3(x))


def attention_scores(num_frames: int, tokens_per_frame: int, depth: int, num_heads: int, batch: int = 1,
                     cross_modal: bool = False) -> int:
    """Analytic number of attention scores (softmax entries) of ``depth`` factorized blocks."""
    t, n = num_frames, tokens_per_frame
    spatial = n if cross_modal else n - 1
    return depth * num_heads * batch * (t * spatial * spatial + n * t * t)
