"""scripts/labelstudio.py helpers that need no server: the SECRET_KEY it hands to Label Studio."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("labelstudio_script", REPO / "scripts" / "labelstudio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _paths(tmp_path: Path) -> dict[str, Path]:
    return {"secret": tmp_path / "state" / "secret_key", "data": tmp_path / "state" / "data"}


def test_secret_key_is_made_once_and_kept_private(tmp_path):
    ls = _script()
    p = _paths(tmp_path)
    key = ls._secret_key(p)
    assert len(key) >= 50 and ls._secret_key(p) == key  # a restart signs and verifies with the same key
    assert stat.S_IMODE(p["secret"].stat().st_mode) == 0o600


def test_secret_key_adopts_the_key_label_studio_already_reads(tmp_path):
    # Label Studio's own first start can race and append two keys; it reads the first one after a restart
    ls = _script()
    p = _paths(tmp_path)
    p["data"].mkdir(parents=True)
    (p["data"] / ".env").write_text("\nSECRET_KEY=first-key\n\nSECRET_KEY=second-key\n", encoding="utf-8")
    assert ls._secret_key(p) == "first-key"
    (p["data"] / ".env").write_text("SECRET_KEY=changed\n", encoding="utf-8")
    assert ls._secret_key(p) == "first-key"  # stored: a later .env edit does not swap the signing key


def test_secrets_are_created_private_and_never_through_a_symlink(tmp_path):
    ls = _script()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    token = tmp_path / "state" / "token"
    token.parent.mkdir()
    (token.parent / ".token.tmp").symlink_to(victim)  # planted where the temporary file will be made
    ls._write_private(token, "first")
    assert victim.read_text() == "keep me" and token.read_text() == "first" and not token.is_symlink()
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    ls._write_private(token, "second")  # replaced atomically, still private
    assert token.read_text() == "second" and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert sorted(p.name for p in token.parent.iterdir()) == ["token"]


def test_urls_with_credentials_are_refused_unechoed(monkeypatch, capsys):
    ls = _script()
    for url in ("http://me:hunter2pass@127.0.0.1:8080", "http://127.0.0.1:8080/?token=hunter2pass"):
        monkeypatch.setenv("LABEL_STUDIO_URL", url)
        assert ls.main(["status"]) == 2
        err = capsys.readouterr().err
        assert "credentials or a query" in err and "hunter2pass" not in err and "Traceback" not in err
