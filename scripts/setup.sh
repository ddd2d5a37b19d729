#!/usr/bin/env bash
# Install everything the toolkit needs into ./.venv (idempotent; a rerun only checks).
#   - ffmpeg (yt-dlp cuts, audio, review playback) and chromium + chromedriver (browser tests) from apt
#   - torch + torchvision first, pinned together (other pairs break torchvision's ops), then the project
# Usage: bash scripts/setup.sh            (AVATAR_SKIP_APT=1 to skip apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."

# ffmpeg: cuts, audio, the review's playback media; chromium + chromedriver: the browser tests of the review task
APT_NEEDED=""
command -v ffmpeg >/dev/null 2>&1 || APT_NEEDED="$APT_NEEDED ffmpeg"
command -v chromium >/dev/null 2>&1 || APT_NEEDED="$APT_NEEDED chromium"
command -v chromedriver >/dev/null 2>&1 || APT_NEEDED="$APT_NEEDED chromium-driver"
if [ -n "$APT_NEEDED" ] && [ "${AVATAR_SKIP_APT:-0}" != 1 ]; then
  echo "[setup] installing$APT_NEEDED (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # shellcheck disable=SC2086  # the package list is meant to split
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_NEEDED >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  echo "[setup] installing torch 2.14.1 + torchvision 0.29.1"
  .venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
fi
echo "[setup] installing avatar-toolkit[all]"
.venv/bin/pip install -q -e ".[all]"
if [ ! -x .lsvenv/bin/label-studio ] && [ "${AVATAR_SKIP_LABEL_STUDIO:-0}" != 1 ]; then
  # Label Studio lives in its own venv: its pins conflict with Prefect's (see scripts/labelstudio.py).
  .venv/bin/python scripts/labelstudio.py install
fi
echo "[setup] done: $(.venv/bin/python -c 'import torch, prefect; print("torch", torch.__version__, "prefect", prefect.__version__)')"
