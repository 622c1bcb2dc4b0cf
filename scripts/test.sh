#!/usr/bin/env bash
# Sets up .venv and everything the tests need (Debian packages, the npm KQL oracle), then runs the whole suite:
# lint, types, and pytest. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-system-deps.sh
bash scripts/setup.sh
if [ -f tests/hunting/oracle/package.json ]; then
  (cd tests/hunting/oracle && npm ci --silent --no-audit --no-fund >/dev/null)
fi
echo "== ruff"
.venv/bin/ruff check src tests bench
echo "== mypy --strict src"
.venv/bin/mypy src
echo "== pytest"
.venv/bin/pytest -q "$@"
