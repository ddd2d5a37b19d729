"""Our CAV-MAE against the official architecture's parameter list, checkpoints, and the tagger front end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.errors import PipelineError
from pipeline.proposals.cavmae import CAVMAEFT, CavMaeConfig, load_cavmae, save_cavmae
from pipeline.proposals.taggers import CavMaeTagger, make_tagger

from .conftest import TINY_CAVMAE

FIXTURE = Path(__file__).parent / "fixtures" / "cavmae_ft_keys.txt"


def _official_keys() -> dict[str, list[int]]:
    rows = [line.rstrip("\n").split("\t") for line in FIXTURE.read_text().splitlines() if not line.startswith("#")]
    return {key: [int(v) for v in shape.strip("[]").split(",")] for key, shape in rows}


def test_state_dict_keys_and_shapes_equal_the_official_model():
    with torch.device("meta"):  # full size (165 M parameters) without allocating them
        model = CAVMAEFT()
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    official = _official_keys()
    assert len(official) == 478
    assert ours == official
    assert list(ours) == list(official)  # same registration order too


def test_module_prefixed_checkpoint_round_trips(tmp_path):
    torch.manual_seed(1)
    model = CAVMAEFT(CavMaeConfig(**TINY_CAVMAE)).eval()
    path = tmp_path / "ft.pth"
    save_cavmae(model, path, data_parallel=True)
    raw = torch.load(path, weights_only=True)
    assert all(k.startswith("module.") for k in raw)
    loaded = load_cavmae(path, CavMaeConfig(**TINY_CAVMAE))
    x = torch.randn(2, TINY_CAVMAE["audio_length"], 128)
    with torch.no_grad():
        for mode in ("audioonly", "missingaudioonly"):
            assert torch.equal(model(x, mode), loaded(x, mode))
    assert model(x, "audioonly").shape == (2, 309)
    with pytest.raises(ValueError, match="mode"):
        model(x, "videoonly")


def test_wrong_architecture_is_named(tmp_path):
    torch.manual_seed(0)
    small = CAVMAEFT(CavMaeConfig(**TINY_CAVMAE))
    state = {f"module.{k}": v for k, v in small.state_dict().items()}
    state["module.decoder_embed.weight"] = torch.zeros(4, 4)  # a pretraining checkpoint has a decoder
    path = tmp_path / "pretrain.pth"
    torch.save(state, path)
    with pytest.raises(PipelineError, match="unexpected key.*decoder") as err:
        load_cavmae(path, CavMaeConfig(**TINY_CAVMAE))
    assert str(path) in str(err.value)
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(PipelineError, match="missing key"):
        load_cavmae(other, CavMaeConfig(**TINY_CAVMAE))
    bigger = dict(TINY_CAVMAE, embed_dim=64)
    with pytest.raises(PipelineError, match="shape mismatch"):
        load_cavmae(tmp_path / "pretrain.pth", CavMaeConfig(**bigger))


def test_missing_truncated_and_corrupt_checkpoints(tmp_path, tiny_cavmae_checkpoint):
    with pytest.raises(PipelineError, match="file not found"):
        load_cavmae(tmp_path / "nope.pth")
    data = tiny_cavmae_checkpoint.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(PipelineError, match="truncated or corrupt"):
        load_cavmae(truncated)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(PipelineError, match="truncated or corrupt"):
        load_cavmae(corrupt)
    pickled = tmp_path / "pickled.pth"
    torch.save({"model": CavMaeConfig()}, pickled)  # a pickled object: refused by weights_only=True
    with pytest.raises(PipelineError, match=str(pickled.name)):
        load_cavmae(pickled)


def test_tagger_preprocessing_and_scores(tiny_cavmae_checkpoint):
    tagger = make_tagger("cavmae", checkpoint=str(tiny_cavmae_checkpoint), config=TINY_CAVMAE, window_s=1.0)
    assert isinstance(tagger, CavMaeTagger) and len(tagger.labels) == 309
    wave = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    feats = tagger.features(wave[:16000])
    assert feats.shape == (256, 128)
    # Padding rows are fbank zeros normalised with the official constants: (0 + 5.081) / 4.4849.
    assert torch.allclose(feats[-1], torch.full((128,), 5.081 / 4.4849))
    scores = tagger.score_windows(wave, [0.0, 1.5, 2.9, 10.0])  # 10 s is past the end: a silent window
    assert scores.shape == (4, 309)
    assert np.allclose(scores.sum(1), 1.0, atol=1e-5) and np.all(scores >= 0)


def test_tagger_refuses_a_head_that_does_not_fit_the_labels(tmp_path):
    model = CAVMAEFT(CavMaeConfig(**dict(TINY_CAVMAE, label_dim=527)))
    with pytest.raises(PipelineError, match="527 classes but the label list has 309"):
        CavMaeTagger(model=model)
