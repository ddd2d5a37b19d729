#!/usr/bin/env bash
# Run the whole test suite (installs first if needed). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] && .venv/bin/python -c "import avatar_bench, torch, prefect" 2>/dev/null || bash scripts/setup.sh
export YOLO_OFFLINE=1 PREFECT_SERVER_ANALYTICS_ENABLED=false MPLBACKEND=Agg
exec .venv/bin/python -m pytest "$@"
