"""Label Studio credentials: token files and URLs that are refused with a clear message, never echoing a secret."""

import base64
import json
import os
import time

import pytest

from pipeline.credentials import check_service_url, read_token_file, redact_url, scrub
from pipeline.errors import PipelineError

SECRET = "s3cr3tT0kenValue_abcdef123456"


def _token_file(tmp_path, data: bytes, mode: int = 0o600):
    path = tmp_path / "token"
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def _jwt(exp: float) -> str:
    """An unsigned-looking JWT refresh token (the SDK checks its expiry itself, before any request)."""
    def part(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'token_type': 'refresh', 'exp': int(exp), 'jti': 'x'})}.sig"


@pytest.mark.parametrize("data, message", [
    (f"{SECRET}\n{SECRET}\n".encode(), "holds 2 lines"),
    (f"{SECRET}\r\n".encode(), "carriage return"),
    (f"{SECRET}é\n".encode(), "non-ASCII"),
    (b"\xff\xfe" + SECRET.encode(), r"not UTF-8 text \(byte 0xff at offset 0\)"),
    (f"{SECRET} x".encode(), "a space"),
    (b"\n", "empty"),
])
def test_malformed_token_files_are_refused_without_the_token(tmp_path, data, message):
    path = _token_file(tmp_path, data)
    with pytest.raises(PipelineError, match=message) as err:
        read_token_file(path)
    assert str(path) in str(err.value) and SECRET not in str(err.value)


def test_a_good_token_file_and_one_others_can_read(tmp_path):
    assert read_token_file(_token_file(tmp_path, f"{SECRET}\n".encode())) == SECRET
    with pytest.raises(PipelineError, match=r"readable by others \(mode 0644\); expected 0600: run `chmod 600"):
        read_token_file(_token_file(tmp_path, SECRET.encode(), 0o644))
    with pytest.raises(PipelineError, match="cannot read it"):
        read_token_file(tmp_path / "absent")


@pytest.mark.parametrize("url, message", [
    ("http://annotator:hunter2pass@127.0.0.1:8080", r"http://\*\*\*@127.0.0.1:8080: credentials in the URL"),
    (f"http://127.0.0.1:8080/?token={SECRET}", r"http://127.0.0.1:8080/\?\*\*\*: a query or fragment"),
    ("ftp://127.0.0.1:8080", "expected http://HOST:PORT"),
    ("http://127.0.0.1:99999", "not a URL"),
])
def test_urls_with_credentials_are_refused_masked(url, message):
    with pytest.raises(PipelineError, match=message) as err:
        check_service_url(url)
    assert "hunter2pass" not in str(err.value) and SECRET not in str(err.value)


def test_redact_and_scrub():
    assert redact_url("https://u:p@h:1/x?token=t#f") == "https://***@h:1/x?***#***"
    assert check_service_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    body = f'{{"detail": "Token is invalid or expired", "refresh": "{SECRET}"}} Bearer {SECRET} {_jwt(0)}'
    clean = scrub(body, SECRET)
    assert SECRET not in clean and "eyJ" not in clean and "Token is invalid or expired" in clean


def test_client_refuses_bad_tokens_and_urls_before_sending(monkeypatch):
    from pipeline.review.client import LabelStudioClient

    url = "http://127.0.0.1:9"  # nothing listens: none of these may get as far as "cannot reach the server"
    cases = [(_jwt(time.time() - 3600), "the token was refused before any request: .*expired"),
             (f"{SECRET}\n{SECRET}", "holds 2 lines"), (f"{SECRET}ü", "non-ASCII")]
    for token, message in cases:
        with pytest.raises(PipelineError, match=message) as err:
            LabelStudioClient(url, token)
        assert token.strip() not in str(err.value) and "cannot reach" not in str(err.value)
    with pytest.raises(PipelineError, match="credentials in the URL") as err:
        LabelStudioClient(f"http://me:{SECRET}@127.0.0.1:9", "abcdefgh")
    assert SECRET not in str(err.value)


def test_cli_reports_a_bad_token_file_in_one_line(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main
    from pipeline.settings import get_settings

    path = _token_file(tmp_path, f"{SECRET}\r\n".encode())
    monkeypatch.setenv("LABEL_STUDIO_TOKEN_FILE", str(path))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://user:{SECRET}@127.0.0.1:9")
    assert SECRET not in repr(get_settings())
    assert main(["review", "status", "--work-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and SECRET not in err and ("carriage return" in err or "credentials" in err)
