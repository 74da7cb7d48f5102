#!/usr/bin/env bash
# `make demo`: schema, a simulated network (seeded, cached), import, sync, analytics,
# demo users, then the functions, the local scheduler, the API and the dashboard.
# Ctrl-C stops what this script started (the services stay up: `make stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${VENV:-$ROOT/.venv}/bin/python
BIN=$(dirname "$PY")
mkdir -p .local/log

export ABBANOA_ENV=${ABBANOA_ENV:-local}
# console scripts (gunicorn, streamlit, functions-framework) import the package from here
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# JWT_SECRET unset: the API generates one on first use into .local/jwt-secret (never committed).
API_PORT=${API_PORT:-8000}
DASHBOARD_PORT=${DASHBOARD_PORT:-8501}
FUNCTIONS_PORT=${FUNCTIONS_PORT:-8081}
NOTIFIER_PORT=${NOTIFIER_PORT:-8082}
# a local webhook receiver stands in for the utility's paging system: the notifier delivers
# every alert to it (received alerts: http://127.0.0.1:$WEBHOOK_PORT/ and .local/log/webhook-received.jsonl)
WEBHOOK_PORT=${WEBHOOK_PORT:-8083}
export ALERT_WEBHOOK_URLS=${ALERT_WEBHOOK_URLS:-http://127.0.0.1:$WEBHOOK_PORT/alerts}
export API_URL=${API_URL:-http://127.0.0.1:$API_PORT}

step() { printf '\n== %s\n' "$*"; }

step "schema"
"$PY" -m abbanoa migrate --create-database

DAYS=${DEMO_DAYS:-28}
FEED_DAYS=${DEMO_FEED_DAYS:-2}
SEED=${DEMO_SEED:-7}
# Simulated once, DAYS of history up to the hour of the first `make demo` and FEED_DAYS
# beyond it, then reused: a second scenario imported beside the first would contradict it
# (totalizers, overlapping hours). The part beyond the present is fed in as its time comes.
DATA=.local/demo-data/scenario-d$DAYS-f$FEED_DAYS-s$SEED
START=$(date -u -d "$(date -u +%Y-%m-%dT%H:00:00Z) - $DAYS days" +%Y-%m-%dT%H:00:00Z)
if [ ! -f "$DATA/labels.json" ]; then
  step "simulating $DAYS days of the network from $START and $FEED_DAYS ahead (seed $SEED; cached in $DATA)"
  rm -rf "$DATA.tmp"
  "$PY" -m abbanoa simulate --days $((DAYS + FEED_DAYS)) --seed "$SEED" --start "$START" --out "$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
else
  step "simulated data: $DATA (cached)"
fi

step "import the registry and the readings up to now (idempotent: a second run adds nothing)"
"$PY" -m abbanoa import "$DATA/districts.csv" "$DATA/nodes.csv" "$DATA/district_meters.csv"
"$PY" -m abbanoa demo-feed --once "$DATA"
if [ -f "$DATA/topology.geojson" ]; then  # the pipes for the dashboard's map
  "$PY" -c "import json, sys; from abbanoa.settings import get_settings; from abbanoa.stores import postgres; \
from abbanoa.repository.network import store_topology
with postgres.engine(get_settings()).begin() as c:
    print('pipes loaded:', store_topology(c, get_settings().default_tenant, json.load(open(sys.argv[1]))))" \
    "$DATA/topology.geojson"
fi

step "initial load BigQuery -> PostgreSQL, then the analytics jobs once"
"$PY" -m abbanoa run-job etl_init
"$PY" -m abbanoa run-job realtime_sync
# detection over the whole simulated history once (the 15-minute job looks at the last
# hours only), so the anomalies view shows what the weeks contained
"$PY" -m abbanoa run-job anomaly_detection --param window_hours=$((DAYS * 24))
"$PY" -m abbanoa run-job network_efficiency  # backfills every stored day and month once
for job in data_quality quality_compliance demand_forecast cache_refresh; do
  "$PY" -m abbanoa run-job "$job"
done

step "demo users"
"$PY" -m abbanoa seed-demo

pids=()  # the services: the demo stops when one of them exits
aux=()   # helpers that may finish on their own (the feed, at the scenario's end)
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping demo processes..."
  for pid in "${pids[@]}" "${aux[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

launch() { # pids|aux name command...
  local group=$1 name=$2
  shift 2
  "$@" >".local/log/$name.log" 2>&1 &
  if [ "$group" = aux ]; then aux+=($!); else pids+=($!); fi
  echo "started $name (log .local/log/$name.log)"
}
start() { launch pids "$@"; }
start_aux() { launch aux "$@"; }

step "serving"
start webhook "$PY" -c "from pathlib import Path; from abbanoa.demo import webhook_receiver; \
webhook_receiver($WEBHOOK_PORT, Path('.local/log/webhook-received.jsonl')).serve_forever()"
start functions "$BIN/functions-framework" --source functions/main.py --target job_pubsub \
  --signature-type cloudevent --host 127.0.0.1 --port "$FUNCTIONS_PORT"
start notifier "$BIN/functions-framework" --source functions/main.py --target notify_alert \
  --signature-type cloudevent --host 127.0.0.1 --port "$NOTIFIER_PORT"
start scheduler "$PY" -m abbanoa scheduler --functions-url "http://127.0.0.1:$FUNCTIONS_PORT" \
  --notifier-url "http://127.0.0.1:$NOTIFIER_PORT"
# the readings of the simulated days ahead, imported every 5 minutes as their time comes;
# the scheduled realtime_sync takes them on from the warehouse like any import
start_aux feed "$PY" -m abbanoa demo-feed "$DATA"
start api "$BIN/gunicorn" --bind "127.0.0.1:$API_PORT" --workers 2 --threads 4 api.wsgi:app
start dashboard "$BIN/streamlit" run dashboard/app.py --server.port "$DASHBOARD_PORT" \
  --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false

cat <<MSG

  Dashboard  http://localhost:$DASHBOARD_PORT
  API        $API_URL/api/v1/openapi.json
  Alerts     http://127.0.0.1:$WEBHOOK_PORT/  (the local webhook receiver the notifier delivers to)
  Logins     .local/demo-credentials.json (printed above by seed-demo)

  Ctrl-C stops the demo; \`make stop\` stops the emulators.
MSG
wait -n "${pids[@]}" || true
echo "a demo process exited; see .local/log/" >&2
