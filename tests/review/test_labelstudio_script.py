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
