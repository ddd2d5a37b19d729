"""TAVLO (temporal audio-visual localization) and the EZ-VSL-style single-frame baseline.

``create_model(name, **overrides)`` builds a variant by name; ``tavlo-train`` trains (one process or
``torchrun`` DDP) and ``tavlo-infer`` writes ``avatar-eval`` submissions. Imports ``avatar_bench``, never
``pipeline``.
"""

from tavlo_model.config import DataConfig, ModelConfig, TrainConfig, load_config
from tavlo_model.errors import TavloError
from tavlo_model.registry import create_model, list_models, model_config, register_model

__all__ = ["DataConfig", "ModelConfig", "TavloError", "TrainConfig", "create_model", "list_models", "load_config",
           "model_config", "register_model"]
