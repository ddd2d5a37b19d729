#!/usr/bin/env python3
"""Screenshot a Label Studio page in headless Chromium, logged in (session cookie set through DevTools).

    python scripts/labelstudio_screenshot.py '/projects/4/data?labeling=1' /tmp/task.png \\
        --wait 15 --size 1400,900

Uses the same environment as ``scripts/labelstudio.py`` (AVATAR_WORK_DIR, LABEL_STUDIO_URL, the stored user);
needs Chromium (Debian: ``apt-get install -y chromium``) and the ``websockets`` module (in the project's
environment through Prefect).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import labelstudio as L  # noqa: N812 - the service script beside this one

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                  "--remote-debugging-port=0"]


def screenshot(p: dict[str, Path], url: str, path: str, out: Path, size: str, wait_s: float,
               clicks: list[str] = ()) -> Path:
    """Log in (session cookie), open ``path`` in headless Chromium through the DevTools protocol, save a PNG.

    Needs the ``chromium`` package (Debian: ``apt-get install chromium``) and the ``websockets`` module
    (present in the project's environment through Prefect).
    """
    import base64
    import tempfile

    try:
        from websockets.sync.client import connect
    except ImportError:
        raise L.ServiceError("screenshot needs the 'websockets' module: run it with the project's Python") from None
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        raise L.ServiceError("screenshot needs Chromium: apt-get install -y chromium")
    opener, _ = L._login(url, *L._credentials(p))
    jar = next(h for h in opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)).cookiejar
    with tempfile.TemporaryDirectory(prefix="ls-chromium-") as profile:
        proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                                 "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                if time.monotonic() > deadline:
                    raise L.ServiceError("Chromium did not open its DevTools port within 30 s")
                time.sleep(0.2)
            port = port_file.read_text().split()[0]
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
            with connect(ws_url, max_size=2**26) as ws:
                ids = iter(range(1, 10**6))

                def cdp(method: str, **params):
                    msg_id = next(ids)
                    ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
                    while True:
                        msg = json.loads(ws.recv(timeout=60))
                        if msg.get("id") == msg_id:
                            return msg.get("result", {})

                host = urllib.parse.urlparse(url).hostname
                for c in jar:
                    cdp("Network.setCookie", name=c.name, value=c.value, domain=host, path=c.path or "/")
                cdp("Page.navigate", url=url + path)
                time.sleep(wait_s)  # the labeling UI loads its bundle, the image and the masks
                for xy in clicks:  # e.g. select a region so its per-region choices show
                    x, y = (float(v) for v in xy.split(","))
                    for kind in ("mousePressed", "mouseReleased"):
                        cdp("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
                    time.sleep(1.0)
                data = cdp("Page.captureScreenshot", format="png")["data"]
        finally:
            proc.kill()
            proc.wait()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(data))
    return out



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="URL path, e.g. '/projects/1/data?task=3'")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--size", default="1400,1000", help="window size W,H")
    parser.add_argument("--wait", type=float, default=8.0, help="seconds to let the page render")
    parser.add_argument("--click", action="append", default=[], metavar="X,Y", help="click there first")
    args = parser.parse_args(argv)
    try:
        url, _ = L._url()
        print(f"[labelstudio] {screenshot(L._paths(), url, args.path, args.out, args.size, args.wait, args.click)}")
    except L.ServiceError as exc:
        print(f"labelstudio_screenshot: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
