import os
import subprocess
import sys

import pandas as pd

from pipeline.manifest import STATUS_OK, STATUS_REJECTED, Manifest, reason_counts


def test_rows_survive_a_kill_and_merge_without_duplicates(tmp_path):
    # A child process appends 30 rows with flushes every 10 and is SIGKILLed before finalize().
    code = f"""
import os, signal
from pipeline.manifest import Manifest
m = Manifest({str(tmp_path)!r}, "probe", key="video_id", flush_every=10)
for i in range(35):
    m.append({{"video_id": f"v{{i}}", "status": "ok", "reason": ""}})
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.getcwd())
    assert proc.returncode == -9
    m = Manifest(tmp_path, "probe", key="video_id", flush_every=10)
    assert m.done_ids() == {f"v{i}" for i in range(30)}  # the last 5 were only buffered
    with m:
        m.append({"video_id": "v3", "status": STATUS_REJECTED, "reason": "no_audio"})  # a redo of v3
        for i in range(30, 35):
            m.append({"video_id": f"v{i}", "status": STATUS_OK, "reason": ""})
    df = pd.read_parquet(tmp_path / "probe.parquet")
    assert len(df) == 35 and df["video_id"].is_unique
    assert df.set_index("video_id").loc["v3", "reason"] == "no_audio"
    assert not (tmp_path / "probe.parts").exists()
    assert reason_counts(df) == {"no_audio": 1}
