#!/usr/bin/env bash
# The README's main job: install everything (apt + pip into ./.venv), then run scripts/demo.py on built-in
# defaults (AVATAR-Synth → pipeline → TAVLO vs baseline). Extra arguments go to scripts/demo.py (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export YOLO_OFFLINE=1 PREFECT_SERVER_ANALYTICS_ENABLED=false MPLBACKEND=Agg
exec .venv/bin/python -m scripts.demo "$@"
