#!/usr/bin/env bash
# Sets up .venv, creates demo tenants with realistic traffic in ./ramparts-data, and runs ramparts
# on its embedded defaults (SQLite, DuckDB, Maildir). Ctrl-C stops it; run it again to resume.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
data=${RAMPARTS_DATA_DIR:-ramparts-data}
smtp=${RAMPARTS_SMTP:-127.0.0.1:2525}
http=${RAMPARTS_HTTP:-127.0.0.1:8025}
if [ ! -f "$data/telemetry.duckdb" ]; then
  .venv/bin/ramparts demo --data-dir "$data" --messages "${RAMPARTS_DEMO_MESSAGES:-600}"
fi
cat <<MSG

ramparts is starting on the data in $data
  portal and API   http://$http/        (OpenAPI: http://$http/docs)
  SMTP gateway     $smtp                (try: swaks --server $smtp --to megan.bowen@contoso.com)
  mailboxes        $data/mailboxes/<recipient>/{new,cur,.Junk}
  hunting          .venv/bin/ramparts hunt --data-dir $data "EmailEvents | summarize count() by DeliveryLocation"
  raw SQL          .venv/bin/ramparts sql --data-dir $data "SELECT ThreatTypes, count(*) FROM EmailEvents GROUP BY 1"
MSG
exec .venv/bin/ramparts serve --data-dir "$data" --smtp "$smtp" --http "$http"
