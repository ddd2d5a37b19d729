"""Segmenters: the protocol, the registry by name, the ``none`` backend and SAM (segment-anything) box prompts.

Names: ``sam`` (a checkpoint is required), ``grabcut`` (weight-free, :mod:`pipeline.proposals.grabcut`),
``auto`` (SAM when its checkpoint is present, else GrabCut: the default, so a machine without SAM weights still
gets masks), ``none``.

``SamSegmenter`` computes one image embedding per frame and decodes all boxes of that frame in one batch; with
``batch_size > 1`` the image encoder also runs on several frames at once (what makes a GPU worth it). Weights
are read with ``torch.load(weights_only=True)`` and loaded strictly into the real ``Sam`` classes built here
(segment-anything's own builder unpickles without ``weights_only``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.errors import PipelineError

log = logging.getLogger(__name__)


@runtime_checkable
class Segmenter(Protocol):
    """Turns boxes (``[x0, y0, x1, y1]`` pixels) into boolean masks ``(H, W)``, one list per image."""

    name: str

    def segment(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Sequence[float]]]) \
            -> list[list[np.ndarray | None]]: ...


class NoneSegmenter:
    """No-weights mode: no masks (instances keep their boxes; ``rle`` is null)."""

    name = "none"

    def segment(self, images, boxes):
        return [[None] * len(b) for b in boxes]


@dataclass(frozen=True)
class SamConfig:
    """Architecture of a SAM model; the three published variants plus tiny ones for tests."""

    encoder_embed_dim: int = 1280
    encoder_depth: int = 32
    encoder_num_heads: int = 16
    encoder_global_attn_indexes: tuple[int, ...] = (7, 15, 23, 31)
    image_size: int = 1024
    prompt_embed_dim: int = 256
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    window_size: int = 14


SAM_VARIANTS = {
    "vit_h": SamConfig(),
    "vit_l": SamConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_b": SamConfig(768, 12, 12, (2, 5, 8, 11)),
    # Test/benchmark size: the real classes, a 2-block encoder, 256-px input.
    "tiny": SamConfig(32, 2, 2, (1,), image_size=256, prompt_embed_dim=32, decoder_mlp_dim=64, decoder_num_heads=2,
                      window_size=4),
}


def build_sam(config: SamConfig):
    """A randomly initialised ``segment_anything.modeling.Sam`` of the given architecture (eval mode)."""
    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    c = config
    grid = c.image_size // 16
    sam = Sam(
        image_encoder=ImageEncoderViT(depth=c.encoder_depth, embed_dim=c.encoder_embed_dim, img_size=c.image_size,
                                      mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                                      num_heads=c.encoder_num_heads, patch_size=16, qkv_bias=True, use_rel_pos=True,
                                      global_attn_indexes=c.encoder_global_attn_indexes, window_size=c.window_size,
                                      out_chans=c.prompt_embed_dim),
        prompt_encoder=PromptEncoder(embed_dim=c.prompt_embed_dim, image_embedding_size=(grid, grid),
                                     input_image_size=(c.image_size, c.image_size), mask_in_chans=16),
        mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=c.prompt_embed_dim,
                                                               mlp_dim=c.decoder_mlp_dim,
                                                               num_heads=c.decoder_num_heads),
                                 transformer_dim=c.prompt_embed_dim, iou_head_depth=3,
                                 iou_head_hidden_dim=min(256, c.prompt_embed_dim * 8)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    return sam.eval()


def variant_of(path: Path, model_type: str | None) -> str:
    """``vit_h``/``vit_l``/``vit_b`` from an explicit type or the checkpoint's file name."""
    if model_type:
        if model_type not in SAM_VARIANTS:
            raise PipelineError(f"SAM model_type {model_type!r}: expected one of {sorted(SAM_VARIANTS)}")
        return model_type
    for name in ("vit_h", "vit_l", "vit_b"):
        if name in path.name:
            return name
    raise PipelineError(f"SAM checkpoint {path}: cannot tell vit_h/vit_l/vit_b from the file name; set model_type")


def load_sam(checkpoint: str | Path, model_type: str | None = None):
    """Build SAM and load a checkpoint strictly (``weights_only=True``); wrong architectures are named."""
    from pipeline.proposals.weights import load_torch_state_dict, resolve

    path = resolve(checkpoint)
    variant = variant_of(path, model_type)
    import torch

    state = load_torch_state_dict(path, "SAM checkpoint")
    with torch.device("meta"):  # shapes only: checking a wrong file costs no ViT-H initialisation
        expected = build_sam(SAM_VARIANTS[variant]).state_dict()
    missing = [k for k in expected if k not in state]
    wrong = [f"{k}: expected {list(expected[k].shape)}, got {list(state[k].shape)}"
             for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or wrong or len(state) != len(expected):
        raise PipelineError(f"SAM checkpoint {path}: not a SAM {variant} state dict ({len(missing)} missing keys "
                            f"e.g. {missing[:2]}; {len(wrong)} shape mismatches e.g. {wrong[:1]}; "
                            f"{len(state)} keys, expected {len(expected)})")
    sam = build_sam(SAM_VARIANTS[variant])
    sam.load_state_dict(state, strict=True)
    return sam


class SamSegmenter:
    """SAM with box prompts.

    Args:
        checkpoint: registry name or path (ignored when ``sam`` is given).
        model_type: ``vit_h``/``vit_l``/``vit_b`` when the file name does not say.
        device: ``auto``, ``cpu``, ``cuda``...
        batch_size: frames per image-encoder pass.
        sam: an already built ``Sam`` (tests and benchmarks pass random-weight ones).
    """

    name = "sam"

    def __init__(self, checkpoint: str | Path = "sam_vit_h", *, model_type: str | None = None, device: str = "auto",
                 batch_size: int = 1, sam=None):
        from segment_anything.utils.transforms import ResizeLongestSide

        from pipeline.proposals.runtime import resolve_device

        self.device = resolve_device(device)
        self.sam = (sam if sam is not None else load_sam(checkpoint, model_type)).to(self.device).eval()
        self.transform = ResizeLongestSide(self.sam.image_encoder.img_size)
        self.batch_size = max(1, batch_size)

    def _input(self, image: np.ndarray, boxes: Sequence[Sequence[float]]) -> dict:
        import torch

        rgb = np.ascontiguousarray(image[:, :, ::-1])  # frames are BGR (OpenCV); SAM expects RGB
        resized = self.transform.apply_image(rgb)
        tensor = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()
        box = torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4), device=self.device)
        return {"image": tensor, "original_size": image.shape[:2],
                "boxes": self.transform.apply_boxes_torch(box, image.shape[:2])}

    def segment(self, images, boxes):
        import torch

        out: list[list[np.ndarray | None]] = [[] for _ in images]
        todo = [i for i, b in enumerate(boxes) if len(b)]  # no boxes → no embedding needed
        with torch.inference_mode():
            for start in range(0, len(todo), self.batch_size):
                chunk = todo[start:start + self.batch_size]
                results = self.sam([self._input(images[i], boxes[i]) for i in chunk], multimask_output=False)
                for i, res in zip(chunk, results, strict=True):
                    out[i] = [m[0].cpu().numpy().astype(bool) for m in res["masks"]]
        return out


SEGMENTERS = {"none": f"{__name__}:NoneSegmenter", "sam": f"{__name__}:SamSegmenter",
              "grabcut": "pipeline.proposals.grabcut:GrabCutSegmenter", "auto": ""}
SAM_OPTIONS = ("checkpoint", "model_type", "device", "batch_size", "sam", "random_variant", "seed")


def _auto(options: dict) -> str:
    """``sam`` when its checkpoint is cached or given (or random weights are asked for), else ``grabcut``.

    Only a registry name missing from the cache falls back; an explicit path that does not exist is an error.
    """
    from pipeline.proposals.weights import REGISTRY, resolve

    if options.get("sam") is not None or options.get("random_variant") is not None:
        return "sam"
    checkpoint = str(options.get("checkpoint") or "sam_vit_h")
    if checkpoint not in REGISTRY:
        resolve(checkpoint)  # a path the user named: missing is their mistake, said as such
        return "sam"
    try:
        resolve(checkpoint)
    except PipelineError as exc:
        log.info("segmenter auto: no SAM checkpoint (%s); masks come from GrabCut (weight-free)", exc)
        return "grabcut"
    return "sam"


def resolve_segmenter(name: str, options: dict) -> tuple[str, dict]:
    """The backend a segmenter name stands for and its options (``auto`` resolved, the other backend's options
    dropped), without building it: what :func:`make_segmenter` builds and what a proposal records."""
    if name not in SEGMENTERS:
        raise PipelineError(f"segmenter {name!r}: expected one of {sorted(SEGMENTERS)}")
    options = dict(options)
    if name == "auto":
        name = _auto(options)
        if name == "grabcut":
            options = {k: v for k, v in options.items() if k not in SAM_OPTIONS}
    return name, options


def make_segmenter(name: str, **options) -> Segmenter:
    """Build a registered segmenter by name (``none``, ``sam``, ``grabcut``, ``auto``).

    ``random_variant="tiny"`` (or ``vit_b``...) gives SAM random weights of that architecture. ``auto`` picks
    ``sam`` when its checkpoint resolves, else ``grabcut``; the options of the backend not chosen are dropped.
    """
    name, options = resolve_segmenter(name, options)
    variant = options.pop("random_variant", None)
    if variant is not None:  # random weights of a real architecture (tests, benchmarks, GPU checks)
        import torch

        torch.manual_seed(int(options.pop("seed", 0)))
        options["sam"] = build_sam(SAM_VARIANTS[variant])
    module, cls = SEGMENTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
