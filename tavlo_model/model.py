"""TAVLO: temporal audio-visual localization (DESIGN.md section 6), and the single-frame baseline (T = 1).

Shapes (B clips, T frames, S px, grid H x W, D_f features, D_t time, D = D_f + D_t, E embedding)::

    frames (B, T, 3, S, S) --ResNet-18--> (B, T, H*W, D_f) + spatial positions (added)
    spec   (B, 1, n_mels, W) --CNN + rectangular kernel--> (B, T, D_f)
    both ++ temporal encoding (concatenated) -> tokens (P, T, 1+H*W, D) for P (audio, visual) pairs
    factorized AST blocks -> head: cosine(audio token, visual tokens) -> similarity maps (P, T, H, W) in [-1, 1]

The transformer mixes audio and visual tokens, so it is a cross-encoder: a negative pair (audio of clip i, frames
of clip j) must go through the blocks as its own pair; the unimodal encoders still run once per clip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tavlo_model.attention import FactorizedBlock
from tavlo_model.audio import AudioEncoder
from tavlo_model.config import ModelConfig
from tavlo_model.visual import ResNet18Encoder


class Tavlo(nn.Module):
    """The TAVLO network; ``cfg.num_frames == 1`` with ``negatives="max"`` is the EZ-VSL-style baseline."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.visual = ResNet18Encoder(cfg.visual_width, cfg.visual_stride)
        if cfg.visual_weights:
            self.visual.load_weights(cfg.visual_weights)
        self.grid = self.visual.grid_size(cfg.img_size)
        self.visual_proj = nn.Conv2d(self.visual.out_channels, cfg.feat_dim, 1)
        self.audio = AudioEncoder(cfg.n_mels, cfg.spec_frames, cfg.num_frames, cfg.audio_channels, cfg.feat_dim)
        self.pos_spatial = nn.Parameter(torch.zeros(self.grid * self.grid, cfg.feat_dim))
        self.pos_temporal = nn.Parameter(torch.zeros(cfg.num_frames, cfg.time_dim))
        self.blocks = nn.ModuleList(
            FactorizedBlock(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.audio_head = nn.Linear(cfg.dim, cfg.embed_dim)
        self.visual_head = nn.Linear(cfg.dim, cfg.embed_dim)
        nn.init.trunc_normal_(self.pos_spatial, std=0.02)
        nn.init.trunc_normal_(self.pos_temporal, std=0.02)

    def encode(self, frames: torch.Tensor, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unimodal encoders: ``(B,T,3,S,S), (B,1,M,W) -> audio (B,T,D_f), visual (B,T,H*W,D_f)``."""
        b, t = frames.shape[:2]
        v = self.visual_proj(self.visual(frames.flatten(0, 1)))  # (B*T, D_f, H, W)
        v = v.flatten(2).transpose(1, 2).reshape(b, t, -1, self.cfg.feat_dim)  # (B, T, H*W, D_f)
        v = v + self.pos_spatial.to(v.dtype)  # spatial positions are added
        return self.audio(spec), v

    def join(self, audio: torch.Tensor, visual: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
        """Token grid of each (audio index, visual index) pair: ``(P, T, 1+H*W, D)``; default the B positives."""
        if pairs is not None:
            audio, visual = audio[pairs[:, 0]], visual[pairs[:, 1]]
        p, t, hw, _ = visual.shape
        time = self.pos_temporal.to(visual.dtype)  # (T, D_t), concatenated to both modalities
        a = torch.cat([audio, time.expand(p, t, -1)], dim=-1)  # (P, T, D)
        v = torch.cat([visual, time[:, None].expand(p, t, hw, -1)], dim=-1)  # (P, T, H*W, D)
        return torch.cat([a[:, :, None], v], dim=2)  # (P, T, 1+H*W, D)

    def forward_features(self, frames: torch.Tensor, spec: torch.Tensor,
                         pairs: torch.Tensor | None = None) -> torch.Tensor:
        """Encoders, pairing and AST blocks: tokens ``(P, T, 1+H*W, D)``.

        Args:
            frames: ``(B, T, 3, S, S)`` normalised frames.
            spec: ``(B, 1, n_mels, W)`` log-mel spectrograms of the clip windows.
            pairs: ``(P, 2)`` long tensor of (audio clip, visual clip) indices; ``None`` pairs each clip with itself.
        """
        x = self.join(*self.encode(frames, spec), pairs)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each frame's audio token with its visual tokens: ``(P, T, H, W)`` in [-1, 1]."""
        a = F.normalize(self.audio_head(tokens[:, :, 0]), dim=-1)  # (P, T, E)
        v = F.normalize(self.visual_head(tokens[:, :, 1:]), dim=-1)  # (P, T, H*W, E)
        sim = torch.einsum("pte,ptne->ptn", a, v)
        return sim.reshape(*sim.shape[:2], self.grid, self.grid)

    def forward(self, frames: torch.Tensor, spec: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
        """Similarity maps ``(P, T, H, W)`` of the requested pairs (default: each clip with its own audio)."""
        return self.forward_head(self.forward_features(frames, spec, pairs))
