"""TAVLO: temporal audio-visual localization (DESIGN.md section 6), and the single-frame baseline (T = 1).

Shapes (B clips, T frames, S px, grid H x W, D_f features, D_t time, D = D_f + D_t, E embedding)::

    frames (B, T, 3, S, S) --ResNet-18--> (B, T, H*W, D_f) + spatial positions (added)
    spec   (B, 1, n_mels, W) --CNN + rectangular kernel--> (B, T, D_f)
    both ++ temporal encoding (concatenated) -> tokens (B, T, 1+H*W, D) = [audio; H*W visual] per frame
    factorized AST blocks -> head: cosine(audio token of frame t, visual tokens of frame t) -> (B, T, H, W)

By default the spatial step keeps the two modalities apart (``attention.FactorizedBlock``): a location's
embedding then depends on the frames only and the audio token on the audio only, so the similarity of the audio
of clip i with the frames of clip j is a dot product of embeddings computed once per clip (all B x B pairs for
the price of B), and a high score must come from what is at that location. With ``spatial_attention="joint"``
the tokens of a pair attend to each other (a cross-encoder): each negative pair then needs its own pass through the
blocks, and on AVATAR-Synth training drove the loss to ~0 within 10 steps while the heatmap peak landed on the
sounding object in under 5% of frames: the joint tokens detect a match globally and report it at any location.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tavlo_model.attention import FactorizedBlock
from tavlo_model.audio import AudioEncoder
from tavlo_model.config import ModelConfig
from tavlo_model.loss import negative_pairs
from tavlo_model.visual import ResNet18Encoder


class Tavlo(nn.Module):
    """The TAVLO network; ``cfg.num_frames == 1`` with ``negatives="max"`` is the EZ-VSL-style baseline."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.visual = ResNet18Encoder(cfg.visual_width, cfg.visual_stride, cfg.visual_stages)
        if cfg.visual_weights:
            self.visual.load_weights(cfg.visual_weights)
        if cfg.visual_patch:  # one location per half-overlapping patch of visual_patch px
            self.grid = cfg.img_size // (cfg.visual_patch // 2)
        else:
            self.grid = self.visual.grid_size(cfg.img_size)
        self.visual_proj = nn.Conv2d(self.visual.out_channels, cfg.feat_dim, 1)
        self.audio = AudioEncoder(cfg.n_mels, cfg.spec_frames, cfg.num_frames, cfg.audio_channels, cfg.feat_dim)
        self.pos_spatial = nn.Parameter(torch.zeros(self.grid * self.grid, cfg.feat_dim))
        self.pos_temporal = nn.Parameter(torch.zeros(cfg.num_frames, cfg.time_dim))
        self.blocks = nn.ModuleList(
            FactorizedBlock(cfg.dim, cfg.num_heads, cfg.mlp_ratio, cfg.dropout, cfg.spatial_attention, self.grid,
                            cfg.spatial_radius) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.audio_head = nn.Linear(cfg.dim, cfg.embed_dim)
        self.visual_head = nn.Linear(cfg.dim, cfg.embed_dim)
        nn.init.trunc_normal_(self.pos_spatial, std=0.02)
        nn.init.trunc_normal_(self.pos_temporal, std=0.02)

    def encode(self, frames: torch.Tensor, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unimodal encoders: ``(B,T,3,S,S), (B,1,M,W) -> audio (B,T,D_f), visual (B,T,H*W,D_f)``."""
        b, t = frames.shape[:2]
        v = self.visual_proj(self._visual_map(frames.flatten(0, 1)))  # (B*T, D_f, H, W)
        v = v.flatten(2).transpose(1, 2).reshape(b, t, -1, self.cfg.feat_dim)  # (B, T, H*W, D_f)
        v = v + self.pos_spatial.to(v.dtype)  # spatial positions are added
        return self.audio(spec), v

    def _visual_map(self, x: torch.Tensor) -> torch.Tensor:
        """ResNet features ``(N, C, H, W)`` of ``(N, 3, S, S)`` frames: of the whole frame, or patch by patch."""
        p = self.cfg.visual_patch
        if not p:
            return self.visual(x)
        n, s = x.shape[0], p // 2  # patches of p px every p/2 px, padded so the grid is S / (p/2) on a side
        patches = F.unfold(x, kernel_size=p, stride=s, padding=(p - s) // 2)  # (N, 3*p*p, H*W)
        patches = patches.transpose(1, 2).reshape(-1, 3, p, p)  # (N*H*W, 3, p, p)
        feats = self.visual(patches).mean(dim=(2, 3))  # (N*H*W, C): each location sees its patch only
        return feats.reshape(n, self.grid, self.grid, -1).permute(0, 3, 1, 2)

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
        """Encoders, token grid and AST blocks: tokens ``(P, T, 1+H*W, D)``.

        Args:
            frames: ``(B, T, 3, S, S)`` normalised frames.
            spec: ``(B, 1, n_mels, W)`` log-mel spectrograms of the clip windows.
            pairs: ``(P, 2)`` long tensor of (audio clip, visual clip) indices to join; ``None`` pairs each clip
                with itself (the only choice that matters without cross-modal attention).
        """
        x = self.join(*self.encode(frames, spec), pairs)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def embed(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-norm audio ``(P, T, E)`` and visual ``(P, T, H*W, E)`` embeddings of the final tokens."""
        return (F.normalize(self.audio_head(tokens[:, :, 0]), dim=-1),
                F.normalize(self.visual_head(tokens[:, :, 1:]), dim=-1))

    def forward_head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of each frame's audio token with its visual tokens: ``(P, T, H, W)`` in [-1, 1]."""
        a, v = self.embed(tokens)
        sim = torch.einsum("pte,ptne->ptn", a, v)
        return sim.reshape(*sim.shape[:2], self.grid, self.grid)

    def forward(self, frames: torch.Tensor, spec: torch.Tensor, negatives: int | None = None) -> torch.Tensor:
        """Similarity maps.

        Args:
            frames: ``(B, T, 3, S, S)``; spec: ``(B, 1, n_mels, W)``.
            negatives: ``None`` for each clip's own maps ``(B, T, H, W)``; K (-1 = all B-1) for the pair layout
                of :func:`tavlo_model.loss.frame_mil_loss`, ``(K+1, B, T, H*W)``: ``[k, i]`` = audio of clip i
                with the frames of clip ``(i + k) % B``.
        """
        if negatives is None:
            return self.forward_head(self.forward_features(frames, spec))
        b = frames.shape[0]
        pairs = negative_pairs(b, negatives, frames.device)
        if self.cfg.spatial_attention != "separate":  # a cross-encoder: every pair through the blocks
            return self.forward_head(self.forward_features(frames, spec, pairs)).reshape(-1, b, frames.shape[1],
                                                                                        self.grid * self.grid)
        a, v = self.embed(self.forward_features(frames, spec))
        sim = torch.einsum("ite,jtne->ijtn", a, v)  # every (audio i, frames j) pair at once: (B, B, T, H*W)
        return sim[pairs[:, 0], pairs[:, 1]].reshape(-1, b, *sim.shape[2:])
