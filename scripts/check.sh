#!/usr/bin/env bash
# Set up a venv with the dev tools and run every check CI runs: lint, format,
# types, import contracts, then the whole test suite. Usage: bash scripts/check.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "omnitui needs Python 3.11 or newer (found $("$PYTHON" --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

echo "== ruff check";     .venv/bin/ruff check .
echo "== ruff format";    .venv/bin/ruff format --check .
echo "== mypy";           .venv/bin/mypy
echo "== lint-imports";   .venv/bin/lint-imports
echo "== pytest";         .venv/bin/python -m pytest "$@"
