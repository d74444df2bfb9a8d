#!/usr/bin/env bash
# Set up a venv with the dev tools and run every check CI runs: lint, format,
# types, import contracts, then the whole test suite on SQLite and again, every test that
# uses a store, on PostgreSQL (OMNITUI_TEST_PG, default postgresql://postgres@127.0.0.1:5432;
# unreachable: those tests skip, or fail under CI=true). Usage: bash scripts/check.sh [pytest args]
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
# The two passes run side by side (two cores: about 11 min instead of 18), each in its own
# temporary directory; the PostgreSQL pass's log is printed when both are done. The outage
# test restarts the PostgreSQL server, so it runs last, alone.
logs=$(mktemp -d)
echo "== pytest, SQLite and PostgreSQL side by side (PostgreSQL's log follows)"
.venv/bin/python -m pytest --store postgresql --basetemp "$logs/pg" \
  --ignore tests/test_pg_outage.py "$@" >"$logs/pg.log" 2>&1 &
pg_pass=$!
status=0
.venv/bin/python -m pytest --basetemp "$logs/sqlite" "$@" || status=$?
wait "$pg_pass" || status=$?
echo "== pytest, PostgreSQL"; cat "$logs/pg.log"
echo "== pytest, PostgreSQL outage"
.venv/bin/python -m pytest --store postgresql --basetemp "$logs/outage" \
  tests/test_pg_outage.py "$@" || status=$?
rm -rf "$logs"
exit "$status"
