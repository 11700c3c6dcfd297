#!/usr/bin/env bash
# Run the whole test suite (installs the venv, chromium and a CJK font first).
# Screenshots and other artifacts of the browser tests land in test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --system
mkdir -p test-artifacts
export MPLBACKEND=Agg
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --timeout=900 "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "no tests ran"; exit 1; fi
exit "$rc"
