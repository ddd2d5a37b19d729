#!/usr/bin/env python3
"""Label Studio as a local service for the AVATAR review step: install, start, stop, status, token.

Standard library only (it runs with any Python 3.10+; Label Studio itself lives in its own venv because its
pins conflict with Prefect's). Usage::

    python3 scripts/labelstudio.py start     # install if absent, start on 127.0.0.1, wait for /health, get a token
    python3 scripts/labelstudio.py status    # exit 0 when it answers /health, 3 otherwise
    python3 scripts/labelstudio.py token     # make sure a personal access token is stored (prints its file, not it)
    python3 scripts/labelstudio.py token --reset   # the stored copy was lost: revoke the user's token, store a new one
    python3 scripts/labelstudio.py stop      # stop it by PID (the whole process group)
    python3 scripts/labelstudio.py install   # only create the venv and install Label Studio

Environment (all optional):
    AVATAR_WORK_DIR            the project's work dir (default ./work); state goes to <work>/labelstudio/
    LABEL_STUDIO_URL           http://127.0.0.1:PORT (default port 8080); only 127.0.0.1/localhost are served
    LABEL_STUDIO_VENV          Label Studio's venv (default <repo>/.lsvenv)
    LABEL_STUDIO_BASE_DATA_DIR database and media (default <work>/labelstudio/data)
    LOCAL_FILES_DOCUMENT_ROOT  root under which frames may be served (default: the work dir)
    LABEL_STUDIO_USERNAME      the user's e-mail (default annotator@avatar.local)
    LABEL_STUDIO_PASSWORD      its password (default: generated once, stored 0600 in <work>/labelstudio/password)
    LABEL_STUDIO_TOKEN_FILE    where the token is stored, 0600 (default <work>/labelstudio/token)

The token is a personal access token (legacy tokens are off in Label Studio 1.23): it is created once by a
session login + ``POST /api/token/`` and stored, because a user has only one and the API shows it truncated
afterwards. It is never printed or logged.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

LS_VERSION = "1.23.2"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_USER = "annotator@avatar.local"


class ServiceError(Exception):
    """An expected failure: printed as one line, exit status 2."""


def _paths() -> dict[str, Path]:
    work = Path(os.environ.get("AVATAR_WORK_DIR", "work")).resolve()
    state = work / "labelstudio"
    return {
        "work": work,
        "state": state,
        "venv": Path(os.environ.get("LABEL_STUDIO_VENV") or REPO / ".lsvenv").resolve(),
        "data": Path(os.environ.get("LABEL_STUDIO_BASE_DATA_DIR") or state / "data").resolve(),
        "root": Path(os.environ.get("LOCAL_FILES_DOCUMENT_ROOT") or work).resolve(),
        "token": Path(os.environ.get("LABEL_STUDIO_TOKEN_FILE") or state / "token"),
        "password": state / "password",
        "secret": state / "secret_key",
        "pid": state / "labelstudio.pid",
        "log": state / "labelstudio.log",
    }


def _url() -> tuple[str, int]:
    url = os.environ.get("LABEL_STUDIO_URL", "http://127.0.0.1:8080").rstrip("/")
    try:
        parsed = urllib.parse.urlparse(url)
        port = parsed.port
    except ValueError as exc:
        raise ServiceError(f"LABEL_STUDIO_URL: not a URL ({exc})") from None
    if parsed.username is not None or parsed.password is not None or parsed.query or parsed.fragment:
        # never echoed: it may hold a password or a token
        raise ServiceError("LABEL_STUDIO_URL carries credentials or a query (user:password@ or ?token=...): refused, "
                           "they would end up in logs; give http://127.0.0.1:PORT and let this script store the token")
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise ServiceError(f"LABEL_STUDIO_URL {url}: this script serves 127.0.0.1 only, got host {parsed.hostname}")
    return url, port or 8080


def _write_private(path: Path, text: str) -> None:
    """Write a secret with 0600 permissions from the first byte, atomically, never through a planted symlink.

    The temporary name beside ``path`` is created with ``O_EXCL | O_NOFOLLOW`` (a leftover from an interrupted
    write is unlinked first: unlinking a symlink removes the link, not its target), fsynced, then moved over
    ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _credentials(p: dict[str, Path]) -> tuple[str, str]:
    user = os.environ.get("LABEL_STUDIO_USERNAME") or DEFAULT_USER
    password = os.environ.get("LABEL_STUDIO_PASSWORD")
    if not password:
        if not p["password"].exists():
            _write_private(p["password"], secrets.token_urlsafe(18))
        password = p["password"].read_text(encoding="utf-8").strip()
    return user, password


def _secret_key(p: dict[str, Path]) -> str:
    """Django's SECRET_KEY for this data dir (it signs the personal access tokens), kept 0600 beside the password.

    Left to itself, Label Studio writes a random key into ``<data>/.env`` on its first start, from every process
    that imports its settings: two processes racing there append two keys, the server signs with one and, after a
    restart, verifies with the other, so the stored token stops working. Passing the key in the environment
    avoids that race. A data dir that already has a key in its ``.env`` keeps the one Label Studio reads (the
    first), so earlier tokens stay valid.
    """
    if p["secret"].exists():
        return p["secret"].read_text(encoding="utf-8").strip()
    key = ""
    env_file = p["data"] / ".env"
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8", errors="replace").splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and name.strip() == "SECRET_KEY" and value.strip():
                key = value.strip().strip("'\"")
                break
    _write_private(p["secret"], key or secrets.token_urlsafe(50))
    return p["secret"].read_text(encoding="utf-8").strip()


# ---------------------------------------------------------------------------------------------- install
def install(p: dict[str, Path]) -> Path:
    """Create Label Studio's venv and install it there unless its executable is already present."""
    exe = p["venv"] / "bin" / "label-studio"
    if exe.exists():
        return exe
    uv = shutil.which("uv")
    print(f"[labelstudio] installing label-studio=={LS_VERSION} into {p['venv']} ({'uv' if uv else 'pip'})")
    if uv:
        subprocess.run([uv, "venv", "--python", sys.executable, str(p["venv"])], check=True)
        subprocess.run([uv, "pip", "install", "--python", str(p["venv"] / "bin" / "python"),
                        f"label-studio=={LS_VERSION}"], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(p["venv"])], check=True)
        subprocess.run([str(p["venv"] / "bin" / "pip"), "install", "-q", f"label-studio=={LS_VERSION}"], check=True)
    if not exe.exists():
        raise ServiceError(f"installation finished but {exe} is missing")
    return exe


# ---------------------------------------------------------------------------------------------- process
def _pid(p: dict[str, Path]) -> int | None:
    try:
        pid = int(p["pid"].read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
            return resp.status == 200 and json.loads(resp.read() or b"{}").get("status") == "UP"
    except (OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    """Nothing listens on the port: the same test Label Studio uses before moving to the next port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def start(p: dict[str, Path], timeout: float) -> None:
    url, port = _url()
    if _pid(p) and _healthy(url):
        print(f"[labelstudio] already running at {url} (pid {_pid(p)})")
        ensure_token(p, url)
        return
    if not _port_free(port):
        # Label Studio would silently move to the next port: refuse instead.
        raise ServiceError(f"port {port} on 127.0.0.1 is taken (LABEL_STUDIO_URL={url}); stop that service or "
                           "choose another port")
    exe = install(p)
    for key in ("state", "data", "root"):
        p[key].mkdir(parents=True, exist_ok=True)
    user, password = _credentials(p)
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(p["data"]), "LOCAL_FILES_SERVING_ENABLED": "true",
           "LOCAL_FILES_DOCUMENT_ROOT": str(p["root"]), "LABEL_STUDIO_USERNAME": user,
           "LABEL_STUDIO_PASSWORD": password, "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
           "SECRET_KEY": _secret_key(p),
           # offline service: no PyPI version check, no usage analytics
           "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false"}
    cmd = [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port)]
    with open(p["log"], "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=p["state"])
    p["pid"].write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if proc.poll() is not None:
            p["pid"].unlink(missing_ok=True)
            raise ServiceError(f"Label Studio exited with status {proc.returncode} before answering {url}/health; "
                               f"see {p['log']}:\n{_tail(p['log'])}")
        if time.monotonic() > deadline:
            stop(p)
            raise ServiceError(f"Label Studio did not answer {url}/health within {timeout:.0f} s; see {p['log']}")
        time.sleep(0.5)
    print(f"[labelstudio] running at {url} (pid {proc.pid}, data {p['data']}, document root {p['root']})")
    try:
        ensure_token(p, url)
    except BaseException:  # a start that fails leaves nothing running behind it
        stop(p)
        raise


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def stop(p: dict[str, Path], grace: float = 20.0) -> bool:
    """Stop the process group started by :func:`start`; return whether something was running."""
    pid = _pid(p)
    p["pid"].unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)
    return True


# ---------------------------------------------------------------------------------------------- token
def _token_valid(url: str, token: str) -> bool:
    """A personal access token is a JWT refresh token: it is valid when /api/token/refresh/ accepts it."""
    req = urllib.request.Request(f"{url}/api/token/refresh/", data=json.dumps({"refresh": token}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError:
        return False


def _login(url: str, user: str, password: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Session login through the HTML form (CSRF cookie first); return the opener and the CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/user/login/", timeout=30).read()
    csrf = next((c.value for c in jar if c.name == "csrftoken"), "")
    form = urllib.parse.urlencode({"email": user, "password": password, "csrfmiddlewaretoken": csrf}).encode()
    req = urllib.request.Request(f"{url}/user/login/", data=form, headers={"Referer": f"{url}/user/login/"})
    opener.open(req, timeout=30).read()
    if not any(c.name == "sessionid" for c in jar):
        raise ServiceError(f"login to {url} as {user} failed: check LABEL_STUDIO_USERNAME / LABEL_STUDIO_PASSWORD")
    csrf = next((c.value for c in jar if c.name == "csrftoken"), csrf)
    return opener, csrf


def revoke_tokens(p: dict[str, Path], user: str) -> None:
    """Blacklist the user's personal access tokens in the database (when the stored copy was lost)."""
    py = str(p["venv"] / "bin" / "python")
    where = subprocess.run([py, "-c", "import label_studio, os; print(os.path.dirname(label_studio.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    code = ("from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken\n"
            f"for t in OutstandingToken.objects.filter(user__email={user!r}):\n"
            "    BlacklistedToken.objects.get_or_create(token=t)\n")
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(p["data"])}
    subprocess.run([py, os.path.join(where, "manage.py"), "shell", "-c", code], env=env, check=True,
                   capture_output=True)


def ensure_token(p: dict[str, Path], url: str, reset: bool = False) -> Path:
    """Reuse the stored token when it still works, else create one and store it 0600 (``reset``: revoke first)."""
    path = p["token"]
    if not reset and path.exists() and _token_valid(url, path.read_text(encoding="utf-8").strip()):
        os.chmod(path, 0o600)
        return path
    user, password = _credentials(p)
    if reset:
        revoke_tokens(p, user)
    opener, csrf = _login(url, user, password)
    req = urllib.request.Request(f"{url}/api/token/", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                                          "Referer": f"{url}/"})
    try:
        with opener.open(req, timeout=30) as resp:
            token = json.loads(resp.read())["token"]
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            raise ServiceError(
                f"user {user} already has a personal access token but {path} does not hold it (the API shows only a "
                "truncated copy): run `labelstudio.py token --reset` to revoke it and store a new one") from None
        raise ServiceError(f"POST {url}/api/token/ failed: HTTP {exc.code}") from None
    _write_private(path, token)
    print(f"[labelstudio] personal access token stored in {path} (0600)")
    return path


# ---------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["install", "start", "stop", "status", "token"])
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for /health on start")
    parser.add_argument("--reset", action="store_true", help="token: revoke the user's token and store a new one")
    args = parser.parse_args(argv)
    p = _paths()
    try:
        url, _ = _url()
        if args.action == "install":
            print(f"[labelstudio] {install(p)}")
        elif args.action == "start":
            start(p, args.timeout)
        elif args.action == "stop":
            print("[labelstudio] stopped" if stop(p) else "[labelstudio] was not running")
        elif args.action == "status":
            up = _healthy(url)
            print(f"[labelstudio] {'running' if up else 'not running'} at {url} (pid {_pid(p)}, data {p['data']})")
            return 0 if up else 3
        else:
            if not _healthy(url):
                raise ServiceError(f"Label Studio does not answer {url}/health: start it first")
            print(f"[labelstudio] token file: {ensure_token(p, url, reset=args.reset)}")
    except ServiceError as exc:
        print(f"labelstudio: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"labelstudio: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
