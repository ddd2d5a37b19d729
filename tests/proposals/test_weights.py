"""Checkpoint registry, cache lookup, and the only download (against a local 127.0.0.1 HTTP server)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.proposals import weights
from pipeline.proposals.weights import KnownCheckpoint, check, download, resolve


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1 (an ephemeral port) for the duration of one test."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _entry(data: bytes, **kw) -> KnownCheckpoint:
    base = {"name": "blob", "filename": "blob.bin", "url": "unused", "kind": "tagger", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}
    return KnownCheckpoint(**{**base, **kw})


def test_download_verifies_and_is_atomic(server, tmp_path):
    root, url = server
    data = b"weights" * 1000
    (root / "blob.bin").write_bytes(data)
    seen = []
    path = download(_entry(data), tmp_path / "cache", url=f"{url}/blob.bin", progress=lambda d, t: seen.append(d))
    assert path.read_bytes() == data and seen[-1] == len(data)
    assert check(_entry(data), tmp_path / "cache")["status"] == "ok"
    with pytest.raises(PipelineError, match="expected sha256"):
        download(_entry(data, sha256="0" * 64), tmp_path / "bad", url=f"{url}/blob.bin")
    with pytest.raises(PipelineError, match=f"expected {len(data) + 1} bytes, got {len(data)}"):
        download(_entry(data, size=len(data) + 1), tmp_path / "bad", url=f"{url}/blob.bin")
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())  # nothing half-written kept
    with pytest.raises(PipelineError, match="failed"):
        download(_entry(data), tmp_path / "bad", url=f"{url}/missing.bin")


def test_check_statuses(tmp_path):
    data = b"abc"
    assert check(_entry(data), tmp_path)["status"] == "missing"
    (tmp_path / "blob.bin").write_bytes(b"abd")
    assert check(_entry(data), tmp_path)["status"] == "sha_mismatch"
    assert check(_entry(data, size=10), tmp_path)["status"] == "size_mismatch"
    assert check(_entry(data, sha256=None, size=None), tmp_path)["status"] == "unverified"


def test_resolve_names_paths_and_missing_files(tmp_path, _isolated_cache):
    with pytest.raises(PipelineError) as err:
        resolve("sam_vit_b")
    msg = str(err.value)
    assert "sam_vit_b_01ec64.pth" in msg and str(_isolated_cache / "models") in msg
    assert "avatar-pipeline models download sam_vit_b" in msg
    explicit = tmp_path / "mine.pt"
    explicit.write_bytes(b"x")
    assert resolve(explicit) == explicit
    with pytest.raises(PipelineError, match="not a known model name"):
        resolve("no-such-model")
    cached = _isolated_cache / "models" / "yamnet.tflite"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"short")
    with pytest.raises(PipelineError, match="truncated download"):
        resolve("yamnet")


def test_models_cli(server, shared_model, capsys, _isolated_cache):
    root, url = server
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "yolov8x-oiv7" in out and "sha256 unknown" in out and weights.REGISTRY["sam_vit_h"].sha256 in out
    assert main(["models", "check", "yamnet"]) == 1
    assert "missing" in capsys.readouterr().out
    (root / "yamnet.tflite").write_bytes(shared_model("yamnet.tflite").read_bytes())
    assert main(["models", "download", "yamnet", "--url", f"{url}/yamnet.tflite"]) == 0
    assert main(["models", "check", "yamnet"]) == 0
    (root / "bad.tflite").write_bytes(b"x" * weights.REGISTRY["yamnet"].size)
    assert main(["models", "download", "yamnet", "--url", f"{url}/bad.tflite", "--force"]) == 2
    assert "expected sha256" in capsys.readouterr().err
    assert main(["models", "check", "yamnet"]) == 0  # the verified file was kept
    assert main(["models", "download", "nope"]) == 2
