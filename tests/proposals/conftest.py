"""Fixtures of the proposals tests: an isolated model cache, tiny random models of the real architectures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own AVATAR_HOME, so no test sees a real model cache or writes to $HOME."""
    home = tmp_path_factory.mktemp("avatar_home")
    monkeypatch.setenv("AVATAR_HOME", str(home))
    return home


TINY_CAVMAE = {"embed_dim": 32, "modality_specific_depth": 1, "total_depth": 2, "num_heads": 2,
               "audio_length": 256, "img_size": 32}


@pytest.fixture(scope="session")
def tiny_cavmae_checkpoint(tmp_path_factory):
    """A ``module.``-prefixed checkpoint of a tiny random CAVMAEFT with the 309-class VGGSound head."""
    import torch

    from pipeline.proposals.cavmae import CAVMAEFT, CavMaeConfig, save_cavmae

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("cavmae") / "tiny_cavmae.pth"
    save_cavmae(CAVMAEFT(CavMaeConfig(**TINY_CAVMAE)), path)
    return path
