"""CAV-MAE fine-tuned classifier (Gong et al., ICLR 2023) in plain torch, state-dict compatible with the official
``CAVMAEFT`` checkpoints (e.g. the VGGSound fine-tuned ``vgg_65.5.pth`` / ``vgg_59.8.pth``).

Written from the published architecture description, not copied: 11 modality-specific ViT-B blocks per modality
(``blocks_a``, ``blocks_v``), 1 unified block (``blocks_u``), separate final norms (``norm_a``, ``norm_v``, ``norm``)
and ``mlp_head = LayerNorm + Linear``. Every block carries three pairs of LayerNorms (``norm1/norm2`` for joint
tokens, ``norm1_a/norm2_a`` and ``norm1_v/norm2_v`` for one modality), whether used or not, so the parameter
names and shapes equal the official ones (``tests/proposals/fixtures/cavmae_ft_keys.txt``).

Shapes (defaults): fbank ``(B, 1024, 128)`` → ``(B, 1, 128, 1024)`` → 16×16 patches → ``(B, 512, 768)`` tokens
(8 frequency rows × 64 time columns, row-major) → mean over tokens → ``(B, label_dim)`` logits. Only the
audio paths are implemented (audio tagging): ``audioonly`` (for models fine-tuned on audio) and
``missingaudioonly`` (for audio-visual fine-tuned models given audio only: the mean of the unified-norm and the
audio-norm passes through ``blocks_u``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

AUDIO_MODES = ("audioonly", "missingaudioonly")


@dataclass(frozen=True)
class CavMaeConfig:
    label_dim: int = 309  # 309 VGGSound classes; 527 for AudioSet heads
    img_size: int = 224
    audio_length: int = 1024  # fbank frames (10.24 s at 10 ms)
    num_mel_bins: int = 128
    patch_size: int = 16
    embed_dim: int = 768
    modality_specific_depth: int = 11
    total_depth: int = 12  # blocks_u has total_depth - modality_specific_depth blocks
    num_heads: int = 12
    mlp_ratio: float = 4.0


def _sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """MAE-style fixed 2-D sin-cos embedding, (1, rows*cols, dim); only an initial value (checkpoints override)."""
    def one_d(d: int, pos: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    r, c = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij")
    emb = np.concatenate([one_d(dim // 2, r), one_d(dim // 2, c)], axis=1)
    return torch.from_numpy(emb).float().unsqueeze(0)


class PatchEmbed(nn.Module):
    def __init__(self, in_chans: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, D)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        # The qkv output is laid out (3, heads, head_dim): the official weights depend on this order.
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, head_dim)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block with joint / audio / visual LayerNorm pairs (registration order = official)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1, self.norm1_a, self.norm1_v = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2, self.norm2_a, self.norm2_v = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, modality: str | None = None) -> torch.Tensor:
        suffix = "" if modality is None else f"_{modality}"
        x = x + self.attn(getattr(self, f"norm1{suffix}")(x))
        return x + self.mlp(getattr(self, f"norm2{suffix}")(x))


class CAVMAEFT(nn.Module):
    """The fine-tuned CAV-MAE classifier (audio forward paths)."""

    def __init__(self, config: CavMaeConfig = CavMaeConfig()):
        super().__init__()
        c = self.config = config
        d = c.embed_dim
        self.patch_embed_a = PatchEmbed(1, d, c.patch_size)
        self.patch_embed_v = PatchEmbed(3, d, c.patch_size)
        self.freq_rows = c.num_mel_bins // c.patch_size
        self.time_cols = c.audio_length // c.patch_size
        n_v = (c.img_size // c.patch_size) ** 2
        self.modality_a = nn.Parameter(torch.zeros(1, 1, d))
        self.modality_v = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed_a = nn.Parameter(_sincos_2d(d, self.freq_rows, self.time_cols))
        side = c.img_size // c.patch_size
        self.pos_embed_v = nn.Parameter(_sincos_2d(d, side, side)[:, :n_v])

        def blocks(n: int) -> nn.ModuleList:
            return nn.ModuleList(Block(d, c.num_heads, c.mlp_ratio) for _ in range(n))

        self.blocks_a = blocks(c.modality_specific_depth)
        self.blocks_v = blocks(c.modality_specific_depth)
        self.blocks_u = blocks(c.total_depth - c.modality_specific_depth)
        self.norm_a, self.norm_v, self.norm = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp_head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, c.label_dim))
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.modality_a, std=0.02)
        nn.init.normal_(self.modality_v, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def embed_audio(self, fbank: torch.Tensor) -> torch.Tensor:
        """(B, T, F) normalised fbank → (B, F/16 * T/16, D) audio tokens after the modality-specific blocks."""
        a = self.patch_embed_a(fbank.unsqueeze(1).transpose(2, 3))  # (B, 1, F, T) → (B, N, D)
        a = a + self.pos_embed_a + self.modality_a
        for blk in self.blocks_a:
            a = blk(a)
        return a

    def forward(self, fbank: torch.Tensor, mode: str = "audioonly") -> torch.Tensor:
        """Class logits ``(B, label_dim)`` from normalised fbank features ``(B, audio_length, num_mel_bins)``."""
        if mode not in AUDIO_MODES:
            raise ValueError(f"mode: expected one of {AUDIO_MODES}, got {mode!r}")
        a = self.embed_audio(fbank)
        x = a
        for blk in self.blocks_u:
            x = blk(x, "a")
        x = self.norm_a(x).mean(dim=1)
        if mode == "missingaudioonly":
            u = a
            for blk in self.blocks_u:
                u = blk(u)
            x = (x + self.norm(u).mean(dim=1)) / 2
        return self.mlp_head(x)


def config_dict(config: CavMaeConfig) -> dict:
    return asdict(config)


def strip_prefix(state: dict, prefix: str = "module.") -> dict:
    """Drop the ``module.`` prefix that ``torch.nn.DataParallel`` checkpoints (all official ones) carry."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state


def _architecture_problems(model: CAVMAEFT, state: dict) -> list[str]:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: expected {list(expected[k].shape)}, got {list(state[k].shape)}"
              for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s), e.g. {missing[:3]}")
    if unexpected:
        hint = " (a pretraining checkpoint with a decoder?)" if any(k.startswith("decoder") for k in unexpected) else ""
        problems.append(f"{len(unexpected)} unexpected key(s){hint}, e.g. {unexpected[:3]}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es), e.g. {shapes[:2]}")
    return problems


def load_cavmae(path, config: CavMaeConfig | None = None, device: str = "cpu") -> CAVMAEFT:
    """Build :class:`CAVMAEFT` and load an official (or our own) fine-tuned checkpoint into it, strictly.

    Args:
        path: checkpoint file (``torch.load(weights_only=True)``; ``module.`` prefixes are removed).
        config: architecture; default the official one with the label count read from the checkpoint's head.
        device: where the model goes.

    Raises:
        PipelineError: unreadable file, or a state dict of another architecture (names every kind of mismatch).
    """
    from pipeline.errors import PipelineError
    from pipeline.proposals.weights import load_torch_state_dict

    state = strip_prefix(load_torch_state_dict(path, "CAV-MAE checkpoint"))
    if config is None:
        head = state.get("mlp_head.1.weight")
        config = CavMaeConfig(label_dim=int(head.shape[0])) if head is not None and head.ndim == 2 else CavMaeConfig()
    model = CAVMAEFT(config)
    problems = _architecture_problems(model, state)
    if problems:
        raise PipelineError(f"CAV-MAE checkpoint {path}: not a CAVMAEFT state dict of this configuration: "
                            + "; ".join(problems))
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def save_cavmae(model: CAVMAEFT, path, data_parallel: bool = True) -> None:
    """Save a state dict like the official checkpoints (``module.``-prefixed when ``data_parallel``), atomically."""
    from avatar_bench.io import atomic_path

    prefix = "module." if data_parallel else ""
    state = {prefix + k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
