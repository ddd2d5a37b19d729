"""Real Label Studio for the test session, started and stopped through ``scripts/labelstudio.py``.

One instance per pytest session (shared by tests/review and tests/flows through a module-level cache and a
reference count), bound to 127.0.0.1 on a free port, data dir under the session's tmp dir. A migrated data dir
(user, personal access token) is cached in ``<repo>/.cache/labelstudio/`` after the first cold start (~60 s with
migrations), so later sessions start in seconds; delete that folder to start from nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.review.client import LabelStudioClient

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "labelstudio.py"
TEMPLATE = REPO / ".cache" / "labelstudio" / "template-1.23.2"


def register(pid: int) -> None:
    """Tell the reaper about a service process (see tests/review/reaper.py)."""
    import psutil

    if _shared["registry"] is not None:
        with open(_shared["registry"], "a") as fh:  # type: ignore[arg-type]
            fh.write(f"{pid} {psutil.Process(pid).create_time()}\n")


def start_reaper(base: Path) -> None:
    """Once per session: a watchdog that stops the registered services if pytest dies without teardown."""
    if _shared["reaper"] is None:
        _shared["registry"] = base / "service-pids.txt"
        _shared["reaper"] = subprocess.Popen([sys.executable, "-m", "tests.review.reaper", str(os.getpid()),
                                              str(_shared["registry"])], cwd=REPO, start_new_session=True)


def stop_reaper() -> None:
    reaper = _shared["reaper"]
    if reaper is not None:
        reaper.terminate()  # type: ignore[union-attr]
        reaper.wait(10)  # type: ignore[union-attr]
        _shared["reaper"] = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabelStudioService:
    """The service script driven with a test environment (work dir, port, document root under ``base``)."""

    def __init__(self, base: Path, root: Path, venv: Path):
        self.base, self.port, self.venv = base, free_port(), venv
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"AVATAR_WORK_DIR": str(base / "work"), "LABEL_STUDIO_URL": self.url,
                    "LABEL_STUDIO_VENV": str(venv), "LOCAL_FILES_DOCUMENT_ROOT": str(root),
                    "LABEL_STUDIO_USERNAME": "tester@avatar.local"}
        self.state = base / "work" / "labelstudio"
        self.token_file = self.state / "token"

    def run(self, action: str, check: bool = True, timeout: float = 400) -> subprocess.CompletedProcess:
        proc = self.run_args([action], timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"labelstudio.py {action} failed ({proc.returncode}): {proc.stderr or proc.stdout}")
        return proc

    def run_args(self, args: list[str], timeout: float = 400) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "LOCAL_FILES_"))}
        return subprocess.run([sys.executable, str(SCRIPT), *args], env={**env, **self.env}, capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        if not self.state.exists() and TEMPLATE.exists():
            shutil.copytree(TEMPLATE, self.state)
            try:
                self._start()
                return
            except RuntimeError:  # a stale template (e.g. from a killed session): drop it and start cold
                self.stop()
                shutil.rmtree(TEMPLATE, ignore_errors=True)
                shutil.rmtree(self.state, ignore_errors=True)
        cold = not self.state.exists()
        self._start()
        if cold:  # keep the migrated data dir for the next session (stop first: a clean SQLite file)
            self.run("stop")
            shutil.rmtree(TEMPLATE, ignore_errors=True)
            shutil.copytree(self.state, TEMPLATE, ignore=shutil.ignore_patterns("*.pid", "*.log"))
            self._start()

    def _start(self) -> None:
        self.run("start")
        register(int((self.state / "labelstudio.pid").read_text()))

    def stop(self) -> None:
        self.run("stop", check=False)

    def client(self, timeout_s: float = 60.0) -> LabelStudioClient:
        return LabelStudioClient(self.url, self.token_file.read_text().strip(), timeout_s=timeout_s)


_shared: dict[str, object] = {"service": None, "users": 0, "reaper": None, "registry": None}


def acquire(tmp_path_factory: pytest.TempPathFactory) -> LabelStudioService:
    """The session's Label Studio (started on first use); skip when it is not installed and cannot be."""
    start_reaper(tmp_path_factory.getbasetemp())
    if _shared["service"] is None:
        venv = Path(os.environ.get("LABEL_STUDIO_VENV") or REPO / ".lsvenv")
        service = LabelStudioService(tmp_path_factory.mktemp("labelstudio"), tmp_path_factory.getbasetemp(), venv)
        if not (venv / "bin" / "label-studio").exists():
            proc = service.run("install", check=False, timeout=900)
            if proc.returncode != 0:
                pytest.skip(f"Label Studio is not installed in {venv} and `scripts/labelstudio.py install` failed "
                            f"(offline?): {proc.stderr.strip()[-300:]}")
        service.start()
        _shared["service"] = service
    _shared["users"] = int(_shared["users"]) + 1
    return _shared["service"]  # type: ignore[return-value]


def release() -> None:
    _shared["users"] = int(_shared["users"]) - 1
    if _shared["users"] <= 0 and _shared["service"] is not None:
        _shared["service"].stop()  # type: ignore[union-attr]
        _shared["service"] = None
        stop_reaper()  # the last user: the Prefect stack (which needs Label Studio) is already down
