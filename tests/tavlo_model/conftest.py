"""Shared fixtures of the TAVLO tests: a toy AVATAR-Synth-like dataset and tiny model settings."""

from __future__ import annotations

import pytest
import torch

from tavlo_model.config import TrainConfig, update
from tavlo_model.registry import model_config
from tavlo_model.testing import make_toy_dataset

# B=2, T=4, 64 px, and everything else as small as the architecture allows.
TINY = dict(img_size=64, visual_width=16, feat_dim=32, time_dim=16, num_heads=4, embed_dim=32,
            audio_channels=(8, 16), n_mels=32, depth=1)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory):
    """Six 2-second H.264/AAC videos (4 train, 1 val, 1 test) with AVATAR-COCO annotations."""
    return make_toy_dataset(tmp_path_factory.mktemp("toy"), n_videos=6)


def tiny_train_config(root, out_dir, name: str = "tavlo_r18_t4", **train) -> TrainConfig:
    """A TrainConfig of the tiny model on the toy dataset, decoding in the main process."""
    cfg = TrainConfig(model=model_config(name, **TINY))
    update(cfg, {"data": {"root": str(root), "num_workers": 0}, "out_dir": str(out_dir), "batch_size": 2,
                 "epochs": 1, "log_every": 1, "seed": 0})
    update(cfg, train)
    cfg.check()
    return cfg
