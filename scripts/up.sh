#!/usr/bin/env bash
# Sets up .venv, creates demo tenants with realistic traffic in ./ramparts-data, runs ramparts on its
# embedded defaults (SQLite, DuckDB, Maildir), and lets a simulated third-party vendor judge the mail
# (some verdicts arrive after delivery and move messages). Ctrl-C stops it; run it again to resume.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
data=${RAMPARTS_DATA_DIR:-ramparts-data}
smtp=${RAMPARTS_SMTP:-127.0.0.1:2525}
http=${RAMPARTS_HTTP:-127.0.0.1:8025}
first_run=no
if [ ! -f "$data/telemetry.duckdb" ]; then
  first_run=yes
  .venv/bin/ramparts demo --data-dir "$data" --messages "${RAMPARTS_DEMO_MESSAGES:-600}" --safe-links-url "http://$http"
fi
.venv/bin/ramparts serve --data-dir "$data" --smtp "$smtp" --http "$http" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' INT TERM EXIT
for _ in $(seq 1 100); do
  [ -f "$data/server.json" ] && break
  kill -0 "$server" 2>/dev/null || { echo "ramparts serve exited; see the messages above" >&2; exit 1; }
  sleep 0.2
done
if [ "$first_run" = yes ]; then
  # people click some links, a vendor then judges the mail (moving some of it), and they click again
  .venv/bin/ramparts clicks simulate --data-dir "$data" --url "http://$http" --share 0.3 --seed 1 || echo "click simulation failed" >&2
  .venv/bin/ramparts vendor simulate --data-dir "$data" --url "http://$http" || echo "vendor simulation failed; ramparts keeps running" >&2
  # the security team blocks a spammer's link domain: clicks on it from the Junk folder are blocked from now on
  for tenant in contoso fabrikam northwind; do
    .venv/bin/ramparts tenant block "$tenant" domain gadgetdeals.shop --data-dir "$data" >/dev/null
  done
  sleep 6  # the server reads tenant lists every 5 s
  .venv/bin/ramparts clicks simulate --data-dir "$data" --url "http://$http" --share 0.3 --seed 2 || echo "click simulation failed" >&2
fi
cat <<MSG

ramparts is running on the data in $data (Ctrl-C to stop)
  HTTP API         http://$http/         (OpenAPI: http://$http/docs)
  SMTP gateway     $smtp                 (mail for contoso.com, fabrikam.com, northwindtraders.com)
  mailboxes        $data/mailboxes/<recipient>/{new,cur,.Junk}
  hunting          .venv/bin/ramparts hunt --data-dir $data "EmailEvents | summarize count() by DeliveryLocation"
  after delivery   .venv/bin/ramparts hunt --data-dir $data "EmailPostDeliveryEvents | project Timestamp, ActionType, Action, DeliveryLocation, DetectionMethods"
  clicks           .venv/bin/ramparts hunt --data-dir $data "UrlClickEvents | summarize count() by ActionType"
  human risk       .venv/bin/ramparts risk attacked --data-dir $data --tenant contoso   (and: risk behaviour)
  quarantine       .venv/bin/ramparts quarantine list --data-dir $data --type Phish
  raw SQL          .venv/bin/ramparts sql --data-dir $data "SELECT ThreatTypes, count(*) FROM EmailEvents GROUP BY 1"
MSG
wait "$server"
