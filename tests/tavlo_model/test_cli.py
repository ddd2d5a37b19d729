"""tavlo-train / tavlo-infer: clear errors (exit 2, one line, no traceback) before any long work, fast --help,
-q/--json, strict JSON summaries, the progress bar."""

from __future__ import annotations

import io
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tavlo_model.checkpoint import load_checkpoint, save_checkpoint
from tavlo_model.cli import infer_main, train_main
from tavlo_model.logger import ProgressBar, strict_json

from .conftest import TINY

REPO = Path(__file__).resolve().parents[2]
TINY_ARGS = [f"--model.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY.items()]


def _error(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if f"{prog}: error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def _train_args(root, out) -> list[str]:
    return [f"--data.root={root}", f"--out_dir={out}", "--batch_size=2", "--epochs=1", "--data.num_workers=0",
            "--eval_every=0", *TINY_ARGS]


@pytest.mark.parametrize("bad,match", [
    (["--lr=nan"], "lr: expected a finite number > 0, got nan"),
    (["--epochs=-1"], "epochs: expected an integer >= 1, got -1"),
    (["--batch-size", "0"], "batch_size: expected an integer >= 1, got 0"),
    (["--model.tau=0"], "tau: expected a finite number > 0"),
    (["--data.root=/nonexistent/synth"], "data.root /nonexistent/synth: folder not found"),
    (["--batch-size"], "expected a value"),
])
def test_train_refuses_bad_settings_before_any_work(toy_root, tmp_path, capsys, bad, match):
    out = tmp_path / "run"
    assert train_main([*_train_args(toy_root, out), *bad]) == 2
    assert match in _error(capsys, "tavlo-train")
    assert not (out / "config.yaml").exists() and not (out / "last.pt").exists()


def test_train_refuses_a_model_that_is_not_a_mapping(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model: tavlo_r18_t4\nepochs: 1\n", encoding="utf-8")
    assert train_main(["--config", str(cfg)]) == 2
    assert "model: expected a mapping of ModelConfig fields, got 'tavlo_r18_t4'" in _error(capsys, "tavlo-train")
    assert train_main(["--model=tavlo_r18_t4"]) == 2
    assert "model: expected a mapping" in _error(capsys, "tavlo-train")


def test_train_refuses_an_unwritable_out_dir_and_a_pickled_weights_file(toy_root, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")  # a folder below a file cannot be made, even by root
    assert train_main([*_train_args(toy_root, blocker / "run")]) == 2
    assert "out_dir" in (msg := _error(capsys, "tavlo-train")) and "expected a folder this user can write" in msg
    pickled = tmp_path / "model.pth"
    with open(pickled, "wb") as fh:
        pickle.dump({"conv1.weight": [1, 2, 3], "path": Path("x")}, fh)  # a plain pickle, not torch.save
    out = tmp_path / "run"
    assert train_main([*_train_args(toy_root, out), f"--model.visual_weights={pickled}"]) == 2
    assert "expected a weights-only torch state dict" in _error(capsys, "tavlo-train")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")  # a whole pickled module
    assert train_main([*_train_args(toy_root, out), f"--model.visual_weights={tmp_path / 'module.pth'}"]) == 2
    assert "weights-only" in _error(capsys, "tavlo-train")
    assert not out.exists() or not any(out.iterdir())


def test_train_json_summary_is_strict_and_quiet_prints_nothing(toy_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main([*_train_args(toy_root, out), "--max_steps=1", "--json"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(printed[-1], parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert summary["steps"] == 1 and summary["best_score"] is None  # -inf (never validated) is written as null
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"),
                       parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c} in summary.json"))
    assert saved["steps"] == 1 and saved["best_score"] is None
    assert train_main([*_train_args(toy_root, tmp_path / "q"), "--max_steps=1", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert strict_json({"a": [math.nan, 1.0, -math.inf], "b": {"c": math.inf}}) == {"a": [None, 1.0, None],
                                                                                   "b": {"c": None}}


def test_progress_bar_shows_step_loss_speed_and_eta_on_a_terminal_only():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    class State:
        step = 0

    shown, hidden = Terminal(), io.StringIO()
    for stream in (shown, hidden):
        with ProgressBar(True, file=stream) as bar:
            bar.start(total=10)
            for step in range(1, 4):
                State.step = step
                bar.update(State, {"loss": 1.0 / step, "samples_per_s": 12.5})
    text = shown.getvalue()
    assert "3/10" in text and "loss=0.3333" in text and "samples_s=12.5" in text and "<" in text  # elapsed<ETA
    assert hidden.getvalue() == ""  # not a terminal: no bar


def _fresh_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter on this checkout (nothing imported yet); it must exit 0."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return proc


def test_help_is_fast_because_torch_is_not_imported():
    proc = _fresh_python("import sys\nfrom tavlo_model.cli import train_main, infer_main\n"
                         "for main in (train_main, infer_main):\n    try:\n        main(['--help'])\n"
                         "    except SystemExit:\n        pass\n"
                         "assert 'torch' not in sys.modules, 'torch imported for --help'\n")
    assert "--data.num_workers=2" in proc.stdout and "--batch-size BATCH_SIZE" in proc.stdout
    assert "(default: 32)" in proc.stdout  # tavlo-infer shows its defaults


def test_config_does_not_import_the_registry():
    _fresh_python("import sys\nimport tavlo_model.config as c\n"
                  "assert 'tavlo_model.model' not in sys.modules and 'torch' not in sys.modules\n"
                  "assert c.model_config('tavlo_r18_t4').spatial_attention == 'joint'\n")
    source = (REPO / "tavlo_model" / "config.py").read_text(encoding="utf-8")
    assert "tavlo_model.registry" not in source  # config -> variants; registry -> config: no cycle


@pytest.fixture(scope="module")
def trained(toy_root, tmp_path_factory):
    """A checkpoint of the tiny model trained for one step with validation (calibrated)."""
    out = tmp_path_factory.mktemp("trained")
    assert train_main([f"--data.root={toy_root}", f"--out_dir={out}", "--batch_size=2", "--max_steps=1",
                       "--data.num_workers=0", "-q", *TINY_ARGS]) == 0
    return out / "last.pt"


def _doctored(trained, tmp_path, change) -> Path:
    ckpt = load_checkpoint(trained)
    change(ckpt)
    path = tmp_path / "doctored.pt"
    save_checkpoint(path, **ckpt)
    return path


@pytest.mark.parametrize("change,match", [
    (lambda c: c["model"].pop("audio_head.weight"), "does not fit the model"),
    (lambda c: c["model"].update({"visual_head.weight": torch.zeros(3, 3)}), "of another shape"),
    (lambda c: c["config"]["model"].update({"embed_dim": 16}), "does not fit the model"),
    (lambda c: c["model"]["visual_head.weight"].fill_(math.nan), "expected finite weights"),
    (lambda c: c["calibration"].update({"center": math.nan}), "calibration: expected a finite center"),
    (lambda c: c["calibration"].update({"tau": 0.0}), "tau > 0"),
])
def test_infer_refuses_bad_checkpoints_before_inference(trained, toy_root, tmp_path, capsys, change, match):
    sub = tmp_path / "sub.npz"
    args = ["--ckpt", str(_doctored(trained, tmp_path, change)), "--gt", str(toy_root / "annotations" / "test.json"),
            "--videos", str(toy_root / "videos"), "--out", str(sub), "--workers", "0"]
    assert infer_main(args) == 2
    assert match in _error(capsys, "tavlo-infer")
    assert not sub.exists()


def test_infer_refuses_bad_gt_and_out_before_inference(trained, toy_root, tmp_path, capsys):
    def run(gt, out):
        return infer_main(["--ckpt", str(trained), "--gt", str(gt), "--videos", str(toy_root / "videos"),
                           "--out", str(out), "--workers", "0"])

    gt = toy_root / "annotations" / "test.json"
    assert run(tmp_path / "absent.json", tmp_path / "a.npz") == 2
    assert "annotation file not found" in _error(capsys, "tavlo-infer")
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [', encoding="utf-8")
    assert run(broken, tmp_path / "a.npz") == 2
    assert "not valid UTF-8 JSON" in _error(capsys, "tavlo-infer")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine", encoding="utf-8")
    assert run(gt, full) == 2
    assert "a new or empty folder; found a non-empty folder" in _error(capsys, "tavlo-infer")
    assert [p.name for p in full.iterdir()] == ["keep.txt"]  # nothing lost
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    assert run(gt, blocker / "sub.npz") == 2
    assert "expected a folder this user can write" in _error(capsys, "tavlo-infer")
    assert run(gt, tmp_path / "ok.npz") == 0  # the same checkpoint and GT work
    assert (tmp_path / "ok.npz").is_file() and capsys.readouterr().out.startswith("wrote 3 heatmaps")
    assert infer_main(["--ckpt", str(trained), "--gt", str(gt), "--videos", str(toy_root / "videos"),
                       "--out", str(tmp_path / "j.npz"), "--workers", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["heatmaps"] > 0
