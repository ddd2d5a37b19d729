"""TAVLO configuration: model, data and training settings as dataclasses with commented defaults.

A run is described by one :class:`TrainConfig` (nanoGPT style): YAML gives the starting values, ``--key=value``
overrides them (dotted keys reach the sections, e.g. ``--model.num_frames=1``), unknown keys are rejected, and
the resolved config is written beside the checkpoints. Defaults follow EZ-VSL (224 px, tau 0.03, Adam 1e-4,
batch 128) and DESIGN.md section 6.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from tavlo_model.errors import TavloError


@dataclass
class ModelConfig:
    """Everything that defines the network and its inputs (a checkpoint carries it)."""

    name: str = "tavlo_r18_t4"  # registry variant this config started from
    # --- inputs
    img_size: int = 224  # frames are resized to img_size x img_size (EZ-VSL: 224)
    num_frames: int = 4  # T: frames per clip window; 1 = the single-frame baseline
    clip_seconds: float = 1.0  # audio span of a window; frames sit at the centres of its T equal segments
    sample_rate: int = 16000  # audio is resampled to this rate, mono
    n_fft: int = 512  # STFT size for the log-mel spectrogram
    hop_ms: float = 10.0  # spectrogram hop: one column per 10 ms
    n_mels: int = 64  # H of the spectrogram
    # --- visual encoder: torchvision ResNet-18 architecture
    visual_width: int = 64  # base width; 64 is torchvision's (ImageNet weights fit only then), 32 = ~4x fewer FLOPs
    visual_stride: int = 32  # output stride 32 (torchvision), 16 or 8 (last stage(s) keep their resolution)
    visual_stages: int = 4  # residual stages used: 4 = all, 2 or 3 = a lighter trunk with a smaller receptive field
    visual_patch: int = 0  # >0: run the trunk on each visual_patch-px patch (every patch/2 px) so a location's
    # feature sees only its patch (a bounded receptive field); 0: the whole frame (torchvision's usual trunk)
    visual_weights: str = ""  # path of torchvision resnet18 ImageNet weights (.pth); never downloaded
    # --- audio encoder: 2-D CNN, each stage halves both axes, then the rectangular (H_a x W_a/T) kernel
    audio_channels: tuple[int, ...] = (32, 64, 128, 256)
    # --- joint transformer
    feat_dim: int = 512  # D_f: width of per-frame audio tokens and per-location visual tokens
    time_dim: int = 64  # D_t: temporal encoding, concatenated to both modalities (D = D_f + D_t)
    depth: int = 2  # number of factorized AST blocks
    spatial_attention: str = "separate"  # "separate": visual<->visual, audio alone; "joint": all 1+H*W tokens
    # (a cross-encoder: every negative pair needs its own pass, and MIL training learns to flag "match" at an
    # arbitrary location instead of localizing; see tavlo_model/model.py)
    spatial_radius: int = -1  # visual tokens attend within this grid distance (-1: the whole frame, 0: alone)
    num_heads: int = 8  # attention heads; must divide D
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    embed_dim: int = 512  # width of the audio/visual embeddings whose cosine makes the heatmap
    # --- method (read by the loss and the heatmap calibration)
    negatives: str = "mean"  # how a negative pair's frame bag is pooled: "mean" (TAVLO) or "max" (EZ-VSL)
    tau: float = 0.03  # contrastive temperature

    @property
    def spec_frames(self) -> int:
        """W_a of the input spectrogram: one column per hop over ``clip_seconds``."""
        return int(round(self.clip_seconds * 1000.0 / self.hop_ms))

    @property
    def dim(self) -> int:
        """D = D_f + D_t, the token width inside the AST blocks."""
        return self.feat_dim + self.time_dim

    def check(self) -> None:
        """Raise :class:`TavloError` for values the model cannot be built from."""
        problems = []
        if self.num_frames < 1:
            problems.append(f"num_frames: expected >= 1, got {self.num_frames}")
        if self.visual_stages not in (2, 3, 4):
            problems.append(f"visual_stages: expected 2, 3 or 4, got {self.visual_stages}")
        if self.visual_patch and (self.visual_patch % 2 or self.img_size % (self.visual_patch // 2)):
            problems.append(f"visual_patch: expected an even size whose half divides img_size {self.img_size}, "
                            f"got {self.visual_patch}")
        if self.visual_stride not in (8, 16, 32):
            problems.append(f"visual_stride: expected 8, 16 or 32, got {self.visual_stride}")
        if self.dim % self.num_heads:
            problems.append(f"num_heads: expected a divisor of D = feat_dim + time_dim = {self.dim}, "
                            f"got {self.num_heads}")
        if self.spatial_attention not in ("separate", "joint"):
            problems.append(f"spatial_attention: expected 'separate' or 'joint', got {self.spatial_attention!r}")
        if self.negatives not in ("mean", "max"):
            problems.append(f"negatives: expected 'mean' or 'max', got {self.negatives!r}")
        if self.tau <= 0:
            problems.append(f"tau: expected > 0, got {self.tau}")
        if self.img_size < 32:
            problems.append(f"img_size: expected >= 32, got {self.img_size}")
        if problems:
            raise TavloError("model config: " + "; ".join(problems))


@dataclass
class DataConfig:
    """Where the clips come from and how they are decoded and augmented."""

    root: str = ""  # AVATAR-Synth output (videos/, vggsound.csv, annotations/{split}.json)
    csv: str = ""  # or a VGGSound-style CSV (id,start_s,label,split) ...
    videos: str = ""  # ... with its folder of <id>_<start:06d>.mp4 files (default: root/videos)
    train_list: str = ""  # a training list (the release's vggsound_10k.txt: ytid, ytid_start or ytid,start lines):
    # train on the clips it names, out of data.csv's train split (or the synth split), or of every data.videos mp4
    train_split: str = "train"
    val_gt: str = ""  # AVATAR-COCO file for validation ('' = root/annotations/val.json when present)
    cache_dir: str = ""  # frame cache: decode each video once to uint8 .npy ('' = decode every clip)
    num_workers: int = 2  # DataLoader decoding processes
    windows_per_video: int = 1  # random windows per training video per epoch, put in the same batch: their pairs
    # are negatives that share the video (background, objects, sound category) so only timing tells them apart
    crop_scale_min: float = 0.6  # random resized crop: smallest area share kept (training only)
    hflip: bool = True  # random horizontal flip (training only)


@dataclass
class TrainConfig:
    """One training run: model + data + optimisation + bookkeeping."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    out_dir: str = "runs/tavlo"  # checkpoints, config.yaml, metrics.csv, TensorBoard events
    seed: int = 0
    epochs: int = 20
    max_steps: int = 0  # stop after this many optimizer steps (0 = run all epochs)
    batch_size: int = 128  # clips per process per micro-batch
    accum_steps: int = 1  # micro-batches per optimizer step (gradient accumulation)
    num_negatives: int = -1  # negative pairs per clip through the joint transformer (-1 = all others in the batch)
    lr: float = 1e-4  # Adam (EZ-VSL)
    min_lr: float = 0.0  # floor of the cosine schedule
    schedule: str = "constant"  # "constant" (EZ-VSL) or "cosine"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max global grad norm (0 = off)
    amp: str = "auto"  # "auto" (bf16 on GPUs that have it, else fp16 + GradScaler; off on CPU), bf16, fp16, off
    device: str = "auto"  # "auto", "cpu", "cuda"
    eval_every: int = 1  # validate every N epochs (0 = never)
    ckpt_every_steps: int = 0  # extra mid-epoch checkpoints (0 = at epoch ends only)
    log_every: int = 10  # optimizer steps between log lines
    resume: str = ""  # checkpoint to resume from ("auto" = out_dir/last.pt when present)
    threads: int = 0  # torch CPU threads per process (0 = torch's default)

    def check(self) -> None:
        """Raise :class:`TavloError` for inconsistent settings."""
        self.model.check()
        problems = []
        if self.schedule not in ("constant", "cosine"):
            problems.append(f"schedule: expected 'constant' or 'cosine', got {self.schedule!r}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            problems.append(f"amp: expected auto, bf16, fp16 or off, got {self.amp!r}")
        if self.batch_size < 1 or self.accum_steps < 1:
            problems.append(f"batch_size/accum_steps: expected >= 1, got {self.batch_size}/{self.accum_steps}")
        if self.data.windows_per_video < 1 or self.batch_size % self.data.windows_per_video:
            problems.append(f"data.windows_per_video: expected a divisor of batch_size {self.batch_size}, "
                            f"got {self.data.windows_per_video}")
        if self.num_negatives == 0 or self.num_negatives < -1:
            problems.append(f"num_negatives: expected -1 (all) or >= 1, got {self.num_negatives}")
        if problems:
            raise TavloError("train config: " + "; ".join(problems))


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass as plain YAML/JSON-able values (tuples become lists)."""
    return dataclasses.asdict(cfg, dict_factory=lambda items: {k: list(v) if isinstance(v, tuple) else v
                                                               for k, v in items})


def _parse(text: str, current: Any) -> Any:
    """A command-line string as the type of ``current`` (YAML syntax for booleans and lists)."""
    import yaml

    try:
        if isinstance(current, bool) or isinstance(current, tuple):
            return yaml.safe_load(text)
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
    except (ValueError, yaml.YAMLError):
        pass
    return text


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Convert a YAML or command-line value to the type of the field's default."""
    if isinstance(value, str) and not isinstance(current, str):
        value = _parse(value, current)
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(current, tuple):
        if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
            return tuple(value)
    elif isinstance(current, str):
        return "" if value is None else str(value)
    raise TavloError(f"{where}: expected a {type(current).__name__}, got {value!r}")


def update(cfg: Any, values: dict[str, Any], prefix: str = "") -> Any:
    """Apply nested ``values`` to the dataclass ``cfg`` in place; unknown keys raise :class:`TavloError`."""
    names = {f.name for f in dataclasses.fields(cfg)}
    for key, value in values.items():
        where = f"{prefix}{key}"
        if key not in names:
            hint = difflib.get_close_matches(key, names, n=1)
            raise TavloError(f"unknown config key {where!r}" + (f" (did you mean {prefix}{hint[0]!r}?)" if hint else "")
                             + f"; known: {sorted(names)}")
        current = getattr(cfg, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise TavloError(f"{where}: expected a mapping of {type(current).__name__} fields, got {value!r}")
            update(current, value, prefix=f"{where}.")
        else:
            setattr(cfg, key, _coerce(value, current, where))
    return cfg


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--model.num_frames=1", "--lr=3e-4"]`` -> ``{"model": {"num_frames": "1"}, "lr": "3e-4"}``."""
    out: dict[str, Any] = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise TavloError(f"override {arg!r}: expected --key=value (dotted keys reach sections: --model.depth=2)")
        key, value = arg[2:].split("=", 1)
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig`: registry defaults of ``model.name``, then the YAML file, then overrides."""
    import yaml

    from tavlo_model.registry import model_config

    raw: dict[str, Any] = {}
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                raw = yaml.safe_load(fh) or {}
        except FileNotFoundError:
            raise TavloError(f"config {path}: file not found") from None
        except yaml.YAMLError as exc:
            raise TavloError(f"config {path}: not valid YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise TavloError(f"config {path}: expected a mapping at the top level, got {type(raw).__name__}")
    over = parse_overrides(overrides or [])
    # The model name picks the variant's defaults before any other model key applies.
    name = over.get("model", {}).get("name") or (raw.get("model") or {}).get("name") or ModelConfig.name
    cfg = TrainConfig(model=model_config(str(name)))
    update(cfg, raw)
    update(cfg, over)
    cfg.check()
    return cfg


def config_from_dict(d: dict[str, Any]) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :func:`to_dict` output (e.g. a checkpoint's)."""
    cfg = TrainConfig()
    update(cfg, d)
    cfg.check()
    return cfg
