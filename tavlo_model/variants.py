"""The named model variants: each is a set of :class:`tavlo_model.config.ModelConfig` fields with its reason.

A variant is a function returning the fields it sets (the rest keep ``ModelConfig``'s defaults); the table is
plain data, so the config layer reads it without importing the model (``config.model_config`` builds the
config, ``registry.create_model`` the network). ``tavlo_r18_t4`` is the paper's model (DESIGN section 6);
every variant that deviates from it says why in its docstring (docs/tavlo.md: "Model").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {}

# The CPU size: from-scratch training on AVATAR-Synth `small` on a 2-core CPU (configs/synth_*). 64 px frames; a
# quarter-width, three-stage ResNet-18 trunk run on each 16 px patch (every 8 px: an 8x8 grid), so a location's
# feature sees its patch only (from scratch, whole-frame features with a receptive field larger than the frame
# let the max location carry global evidence); one AST block whose spatial step lets each location read its
# frame's audio token and nothing else of the frame (radius 0), then temporal attention over the T frames of every
# location. T = 4 in the paper's 1 s: 81.3% for the model's-view temporal oracle on `small`'s multi-entity frames
# (avatar-synth check-cue), 83.6% at 0.5 s with half the audio per window, 93.1% for T = 8 in 1 s at twice the
# cost per step. (An eighth-width trunk with D = 48 and batch 16 stayed at the chance loss for 160 steps.)
CPU_SIZE: dict[str, Any] = dict(img_size=64, visual_width=16, visual_stages=3, visual_patch=16,
                                audio_channels=(16, 32, 64), n_mels=64, feat_dim=64, time_dim=16, depth=1,
                                num_heads=4, embed_dim=64, spatial_radius=0)


def variant(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Register ``fn`` (returning ModelConfig fields) as the variant named like the function."""
    VARIANTS[fn.__name__] = fn
    return fn


@variant
def tavlo_r18_t4() -> dict[str, Any]:
    """The paper's TAVLO: ResNet-18 at 224 px, T = 4 frames per 1 s window, two factorized AST blocks whose
    spatial attention runs over the audio token and the H*W visual tokens of a frame together (joint), temporal
    attention over T, max-pooled positives and mean-pooled negatives (DESIGN section 6)."""
    return dict(num_frames=4, spatial_attention="joint", negatives="mean")


@variant
def tavlo_r18_t4_sep() -> dict[str, Any]:
    """Deviates: spatial attention keeps the modalities apart (visual<->visual, the audio token alone). A dual
    encoder: all B x B pair similarities cost one pass (joint attention is a cross-encoder, K+1 passes per clip),
    and a high score must come from what is at a location; but no location ever reads the audio, so synchrony
    can only come from a bilinear match of two separately encoded histories (tavlo_model/synchrony.py: it
    stayed at chance where audio_to_visual learned)."""
    return dict(num_frames=4, spatial_attention="separate", negatives="mean")


@variant
def tavlo_r18_t4_maxneg() -> dict[str, Any]:
    """Deviates: max-pooled negatives (EZ-VSL's). Max-positive/mean-negative has a trivial minimum (every audio
    embedding alike, one spike location per frame matching it) that from-scratch training reaches within steps;
    with max on both sides a spike matches every pair alike and earns nothing."""
    return dict(num_frames=4, spatial_attention="joint", negatives="max")


@variant
def tavlo_r18_t4_patch() -> dict[str, Any]:
    """Deviates: the trunk runs on each 32 px patch (every 16 px), so a location's feature sees its patch only.
    From scratch a whole-frame ResNet location (receptive field larger than the frame) carries global evidence
    and the max over locations need not point at the source."""
    return dict(num_frames=4, spatial_attention="joint", negatives="mean", visual_patch=32, visual_stages=3)


@variant
def ezvsl_r18() -> dict[str, Any]:
    """The EZ-VSL-style single-frame baseline: the paper's code with T = 1 (one frame in the middle of the same
    second of audio) and max-pooled negatives (DESIGN section 6)."""
    return dict(num_frames=1, spatial_attention="joint", negatives="max")


@variant
def tavlo_r18_t4_cpu() -> dict[str, Any]:
    """Deviates: the CPU size (``CPU_SIZE``), the comparison's TAVLO. Each location reads its frame's audio token
    (spatial_attention audio_to_visual: the audio token does not read the frame, so it cannot turn into a global
    match detector) and nothing else of the frame (radius 0), max-pooled negatives (mean ones collapse)."""
    return dict(num_frames=4, spatial_attention="audio_to_visual", negatives="max", **CPU_SIZE)


@variant
def tavlo_r18_t4_cpu_mean() -> dict[str, Any]:
    """The CPU size with the paper's mean-pooled negatives: trained to show (and guard) their collapse."""
    return dict(num_frames=4, spatial_attention="audio_to_visual", negatives="mean", **CPU_SIZE)


@variant
def ezvsl_r18_cpu() -> dict[str, Any]:
    """The single-frame baseline at the CPU size of :func:`tavlo_r18_t4_cpu` (only T differs)."""
    return dict(num_frames=1, spatial_attention="audio_to_visual", negatives="max", **CPU_SIZE)
