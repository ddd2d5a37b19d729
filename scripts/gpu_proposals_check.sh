#!/usr/bin/env bash
# GPU check of the proposal backends: full-size YOLOv8x (601-class OIV7 head) + SAM ViT-H + CAV-MAE, random
# weights (the GPU machine is offline: nothing is downloaded), batching vs one frame at a time, frames/s and peak
# memory. Writes $OUT/gpu_proposals.json when $OUT is set. Usage: bash scripts/gpu_proposals_check.sh [--tiny ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export YOLO_OFFLINE=1 AVATAR_HOME=${AVATAR_HOME:-$PWD/.cache/avatar} YOLO_CONFIG_DIR=${YOLO_CONFIG_DIR:-$PWD/.cache/ultralytics}
"$PY" - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
exec "$PY" -m benchmarks.gpu_proposals "$@"   # benchmarks/gpu_proposals.py, as a module of this checkout
