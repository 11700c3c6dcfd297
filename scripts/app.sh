#!/usr/bin/env bash
# Start the app on the embedded Panzhihua demo workspace (installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT="${PORT:-8501}"
echo "Open http://localhost:${PORT} in your browser."
exec .venv/bin/python -m streamlit run streamlit_app.py --server.port "$PORT" \
  --server.headless true --browser.gatherUsageStats false "$@"
