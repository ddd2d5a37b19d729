"""TAVLO configuration: model, data and training settings as dataclasses with commented defaults.

A run is described by one :class:`TrainConfig` (nanoGPT style): YAML gives the starting values, ``--key=value``
overrides them (dotted keys reach the sections, e.g. ``--model.num_frames=1``), unknown keys are rejected, and
the resolved config is written beside the checkpoints. Defaults follow EZ-VSL (224 px, tau 0.03, Adam 1e-4,
batch 128) and DESIGN.md section 6.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from dataclasses import dataclass, field
from typing import Any

from tavlo_model.errors import TavloError
from tavlo_model.variants import VARIANTS

SPATIAL_MODES = ("joint", "separate", "audio_to_visual")  # see tavlo_model.attention


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
    spatial_attention: str = "joint"  # how a frame's tokens mix (tavlo_model/attention.py): "joint" = all 1+H*W
    # tokens (the paper; a cross-encoder: every pair needs its own pass), "separate" = visual<->visual and the
    # audio token alone (a dual encoder), "audio_to_visual" = visual tokens read the audio token, not back
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
        problems = _choice_problems(self, {"visual_stages": (2, 3, 4), "visual_stride": (8, 16, 32),
                                           "spatial_attention": SPATIAL_MODES, "negatives": ("mean", "max")})
        problems += _range_problems(self, {"tau": (0, False), "clip_seconds": (0, False), "hop_ms": (0, False),
                                           "mlp_ratio": (0, False), "dropout": (0, True), "img_size": (32, True),
                                           "num_frames": (1, True), "sample_rate": (1, True), "n_fft": (2, True),
                                           "n_mels": (1, True), "feat_dim": (1, True), "time_dim": (0, True),
                                           "depth": (0, True), "embed_dim": (1, True), "visual_width": (1, True)})
        if self.visual_patch and (self.visual_patch % 2 or self.img_size % (self.visual_patch // 2)):
            problems.append(f"visual_patch: expected an even size whose half divides img_size {self.img_size}, "
                            f"got {self.visual_patch}")
        if self.dim % self.num_heads:
            problems.append(f"num_heads: expected a divisor of D = feat_dim + time_dim = {self.dim}, "
                            f"got {self.num_heads}")
        if not self.dropout < 1:
            problems.append(f"dropout: expected < 1, got {self.dropout}")
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
        problems = _choice_problems(self, {"schedule": ("constant", "cosine"), "amp": ("auto", "bf16", "fp16", "off"),
                                           "device": ("auto", "cpu", "cuda")})
        problems += _range_problems(self, {"lr": (0, False), "min_lr": (0, True), "weight_decay": (0, True),
                                           "grad_clip": (0, True), "epochs": (1, True), "max_steps": (0, True),
                                           "batch_size": (1, True), "accum_steps": (1, True),
                                           "warmup_steps": (0, True), "eval_every": (0, True), "log_every": (1, True),
                                           "ckpt_every_steps": (0, True), "threads": (0, True)})
        problems += _range_problems(self.data, {"num_workers": (0, True), "crop_scale_min": (0, False)}, "data.")
        if not self.data.crop_scale_min <= 1:
            problems.append(f"data.crop_scale_min: expected <= 1, got {self.data.crop_scale_min}")
        if self.data.windows_per_video < 1 or self.batch_size % self.data.windows_per_video:
            problems.append(f"data.windows_per_video: expected a divisor of batch_size {self.batch_size}, "
                            f"got {self.data.windows_per_video}")
        if self.num_negatives == 0 or self.num_negatives < -1:
            problems.append(f"num_negatives: expected -1 (all) or >= 1, got {self.num_negatives}")
        if problems:
            raise TavloError("train config: " + "; ".join(problems))


def _choice_problems(cfg: Any, choices: dict[str, tuple]) -> list[str]:
    """``name: expected one of (...), got v`` for each field of ``cfg`` that is not one of its choices."""
    return [f"{name}: expected one of {allowed}, got {getattr(cfg, name)!r}" for name, allowed in choices.items()
            if getattr(cfg, name) not in allowed]


def _range_problems(cfg: Any, limits: dict[str, tuple[float, bool]], prefix: str = "") -> list[str]:
    """``name: expected a finite number >= lo (or > lo), got v`` for each field of ``cfg`` outside its limit."""
    out = []
    for name, (lo, inclusive) in limits.items():
        value = getattr(cfg, name)
        if not math.isfinite(value) or value < lo or (not inclusive and value == lo):
            kind = "an integer" if isinstance(value, int) else "a finite number"
            out.append(f"{prefix}{name}: expected {kind} {'>=' if inclusive else '>'} {lo}, got {value}")
    return out


def list_models() -> list[str]:
    """Variant names accepted by :func:`model_config` (and ``registry.create_model``)."""
    return sorted(VARIANTS)


def model_config(name: str, **overrides: Any) -> ModelConfig:
    """The :class:`ModelConfig` of variant ``name`` with ``overrides`` applied; unknown names/keys raise."""
    if name not in VARIANTS:
        raise TavloError(f"unknown model {name!r}; expected one of {list_models()}")
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TavloError(f"model {name}: unknown config key(s) {unknown}; known: {sorted(known)}")
    cfg = ModelConfig(**{**VARIANTS[name](), "name": name, **overrides})
    cfg.check()
    return cfg


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
    """``["--model.num_frames=1", "--batch-size", "8"]`` -> ``{"model": {"num_frames": "1"}, "batch_size": "8"}``.

    ``--key=value`` or ``--key value``; dashes in a key are read as underscores.
    """
    out: dict[str, Any] = {}
    args = list(args)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--") or len(arg) < 3:
            raise TavloError(f"override {arg!r}: expected --key=value (dotted keys reach sections: --model.depth=2)")
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
        elif args and not args[0].startswith("--"):
            key, value = arg[2:], args.pop(0)
        else:
            raise TavloError(f"override {arg!r}: expected a value (--key=value or --key value)")
        key = key.replace("-", "_")
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig`: registry defaults of ``model.name``, then the YAML file, then overrides."""
    import yaml

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
    for where, values in ((f"config {path}", raw), ("overrides", over)):
        if "model" in values and not isinstance(values["model"], dict):
            raise TavloError(f"{where}: model: expected a mapping of ModelConfig fields, got {values['model']!r}")
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
