"""Config: YAML + --key=value overrides, unknown keys rejected, types checked, the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tavlo_model.config import load_config, to_dict
from tavlo_model.errors import TavloError
from tavlo_model.train import main

CONFIGS = Path(__file__).resolve().parents[2] / "tavlo_model" / "configs"


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("model: {name: ezvsl_r18, img_size: 96}\nlr: 0.001\ndata: {root: /data}\n", encoding="utf-8")
    cfg = load_config(path, ["--lr=3e-4", "--model.depth=3", "--data.hflip=false", "--model.audio_channels=[4,8]"])
    assert cfg.model.name == "ezvsl_r18" and cfg.model.num_frames == 1 and cfg.model.negatives == "max"
    assert cfg.model.img_size == 96 and cfg.model.depth == 3 and cfg.model.audio_channels == (4, 8)
    assert cfg.lr == pytest.approx(3e-4) and cfg.data.root == "/data" and cfg.data.hflip is False
    assert to_dict(cfg)["model"]["audio_channels"] == [4, 8]


@pytest.mark.parametrize("overrides,match", [
    (["--epoch=1"], "unknown config key 'epoch'.*did you mean 'epochs'"),
    (["--model.depht=1"], "unknown config key 'model.depht'"),
    (["--batch_size=many"], "batch_size: expected a int"),
    (["--model.name=tavlo_r50"], "unknown model"),
    (["--amp=fp8"], "amp: expected"),
    (["lr=1"], "expected --key=value"),
])
def test_bad_keys_and_values_are_rejected(overrides, match):
    with pytest.raises(TavloError, match=match):
        load_config(None, overrides)


def test_cli_reports_config_errors_without_traceback(capsys):
    assert main(["--model.depht=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tavlo-train: error: unknown config key") and "Traceback" not in err
    assert main(["--print-config", "--model.name=ezvsl_r18"]) == 0
    assert "num_frames: 1" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert cfg.model.name in path.read_text(encoding="utf-8")
