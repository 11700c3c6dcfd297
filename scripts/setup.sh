#!/usr/bin/env bash
# Install what the app and the tests need, idempotently: a local virtual environment in .venv
# with the project and its test dependencies, and (with --system) Debian's chromium and a CJK
# font for the browser tests and the PDF report, and PostgreSQL + PostGIS (Debian's postgresql-postgis)
# for the database tests.  Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="${PYTHON:-python3}"
WANT_SYSTEM=0
for a in "$@"; do [ "$a" = "--system" ] && WANT_SYSTEM=1; done

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
STAMP=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$STAMP" ]; then
  echo "[setup] installing the project and its test dependencies into .venv"
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.installed-*
  touch "$STAMP"
fi

if [ "$WANT_SYSTEM" = 1 ]; then
  NEED=()
  command -v chromium >/dev/null 2>&1 || NEED+=(chromium)
  [ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || NEED+=(fonts-droid-fallback)
  # a real PostgreSQL + PostGIS for the database tests (tests/pg_server.py starts it on loopback)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || NEED+=(postgresql)
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || NEED+=(postgresql-postgis)
  if [ ${#NEED[@]} -gt 0 ]; then
    echo "[setup] installing Debian packages: ${NEED[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${NEED[@]}" >/dev/null
  fi
fi

if [ ! -f data/panzhihua/population_100m.tif ] || [ ! -f data/panzhihua/facilities.csv ]; then
  echo "[setup] building the Panzhihua demo workspace (data/build_demo.py)"
  .venv/bin/python data/build_demo.py
fi
echo "[setup] ready: $ROOT/.venv"
