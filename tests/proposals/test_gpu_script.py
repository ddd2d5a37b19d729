"""The GPU check script's code path, run on a CPU with tiny models (the GPU run uses full sizes)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_runs_tiny_on_cpu(tmp_path, capsys):
    from benchmarks.gpu_proposals import main

    out = tmp_path / "gpu.json"
    assert main(["--tiny", "--device", "cpu", "--frames", "2", "--batch", "2", "--repeat", "1",
                 "--size", "160x96", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and len(result["rows"]) == 6
    assert {r["batch"] for r in result["rows"]} == {1, 2}
    assert all(r["frames_per_s"] > 0 for r in result["rows"])
    assert "frames/s" in capsys.readouterr().out


def test_shell_wrapper_is_valid_bash():
    script = REPO / "scripts" / "gpu_proposals_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert "benchmarks/gpu_proposals.py" in script.read_text()
