"""AVATAR-Synth: a procedurally generated audio-visual benchmark with exact ground truth.

Real H.264 + AAC videos of pulsing, moving objects whose sounds are known exactly, annotated in
AVATAR-COCO (every scenario, cross-event videos), plus clips the pipeline's probe filter must reject.

    from avatar_bench.synth import generate
    summary = generate("data/synth", preset="tiny", seed=0)
"""

from avatar_bench.synth.config import PRESETS, SynthConfig, SynthError
from avatar_bench.synth.generate import generate

__all__ = ["PRESETS", "SynthConfig", "SynthError", "generate"]
