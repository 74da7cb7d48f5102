#!/usr/bin/env bash
# Make the local stand-ins of the cloud services reachable on loopback, without Docker.
#   local/services.sh up       start what is not already running (idempotent)
#   local/services.sh down     stop what this script started (PostgreSQL/Redis are left alone)
#   local/services.sh status   one line per service
# PostgreSQL 127.0.0.1:5432 and Redis 127.0.0.1:6379 are used where they already run and
# started from the Debian packages otherwise; the Pub/Sub emulator (gcloud, Java) listens
# on 127.0.0.1:8085 and the BigQuery emulator (bqemulator, in .venv-bq) on 127.0.0.1:9050.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN="$ROOT/.local/run"
mkdir -p "$RUN" "$ROOT/.local/log"
BQVENV=${BQVENV:-$ROOT/.venv-bq}
PROJECT=${GCP_PROJECT:-abbanoa-local}
PUBSUB_PORT=${PUBSUB_PORT:-8085}
BQ_PORT=${BQ_PORT:-9050}
BQ_GRPC_PORT=${BQ_GRPC_PORT:-9060}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A service is up when it answers a real request, not when its port is open: an emulator
# whose data directory was deleted keeps its port and answers 500 or hangs (LOCAL.md).
answers() { # name
  case "$1" in
    postgresql) [ "$(timeout 5 psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc 'select 1' 2>/dev/null)" = 1 ] ;;
    redis) [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ] ;;
    pubsub) timeout 5 curl -sf -m 3 -o /dev/null "http://127.0.0.1:$PUBSUB_PORT/v1/projects/$PROJECT/topics" ;;
    bigquery)
      timeout 15 curl -sf -m 10 -o /dev/null -X POST "http://127.0.0.1:$BQ_PORT/bigquery/v2/projects/$PROJECT/queries" \
        -H 'Content-Type: application/json' -d '{"query": "SELECT 1", "useLegacySql": false}'
      ;;
  esac
}

# Up already (answers): use it. Port open but no answer: someone else's broken instance;
# say so and stop rather than start a second one or report it running.
already_up() { # name port
  if answers "$1"; then
    printf '%-11s 127.0.0.1:%s (already running, answers)\n' "$1" "$2"
    return 0
  fi
  if port_open "$2"; then
    echo "error: $1 on 127.0.0.1:$2 has its port open but does not answer a request (hung or broken);" \
      "restart it (whoever started it) and run again" >&2
    exit 1
  fi
  return 1
}

wait_port() { # port name seconds: until the service answers a request
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    answers "$2" && return 0
    sleep 0.1
  done
  echo "error: $2 did not answer on 127.0.0.1:$1 within $3 s (log: .local/log/$2.log)" >&2
  tail -n 20 "$ROOT/.local/log/$2.log" >&2 2>/dev/null || true
  return 1
}

start_postgres() {
  if already_up postgresql 5432; then return; fi
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "error: PostgreSQL is not running on 127.0.0.1:5432 and is not installed (apt-get install postgresql)" >&2
    return 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  wait_port 5432 postgresql 30
  echo "postgresql  127.0.0.1:5432 (started)"
}

start_redis() {
  if already_up redis 6379; then return; fi
  if ! command -v redis-server >/dev/null; then
    echo "error: Redis is not running on 127.0.0.1:6379 and is not installed (apt-get install redis-server)" >&2
    return 1
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --pidfile "$RUN/redis.pid" --logfile "$ROOT/.local/log/redis.log"
  wait_port 6379 redis 10
  echo "redis       127.0.0.1:6379 (started)"
}

start_pubsub() {
  if already_up pubsub $PUBSUB_PORT; then return; fi
  if ! command -v gcloud >/dev/null || ! command -v java >/dev/null; then
    echo "error: the Pub/Sub emulator needs the gcloud CLI with the pubsub-emulator component and Java" >&2
    return 1
  fi
  # setsid: its own process group, so `down` stops both the wrapper and its java child.
  setsid gcloud beta emulators pubsub start --host-port=127.0.0.1:$PUBSUB_PORT --project="$PROJECT" \
    >"$ROOT/.local/log/pubsub.log" 2>&1 </dev/null &
  echo $! >"$RUN/pubsub.pid"
  wait_port $PUBSUB_PORT pubsub 60
  echo "pubsub      127.0.0.1:$PUBSUB_PORT (started)"
}

install_bqemulator() {
  if [ ! -x "$BQVENV/bin/bqemulator" ] || [ requirements-bqemulator.txt -nt "$BQVENV/.stamp" ]; then
    echo "installing the BigQuery emulator into $BQVENV ..."
    python3 -m venv "$BQVENV"
    "$BQVENV/bin/pip" install -q --disable-pip-version-check -r requirements-bqemulator.txt 2>&1 | { grep -v "WARNING: Location" || true; }
    touch "$BQVENV/.stamp"
  fi
  # DuckDB cannot download extensions offline: link the spatial one shipped as a wheel.
  local ext
  ext=$(find "$BQVENV" -name spatial.duckdb_extension | head -n 1)
  local dir="$HOME/.duckdb/extensions/v1.5.5/linux_amd64"
  mkdir -p "$dir"
  ln -sf "$ext" "$dir/spatial.duckdb_extension"
}

start_bigquery() {
  if already_up bigquery $BQ_PORT; then return; fi
  install_bqemulator
  mkdir -p "$ROOT/.local/bigquery"
  setsid "$BQVENV/bin/bqemulator" start --rest-host 127.0.0.1 --rest-port $BQ_PORT \
    --grpc-host 127.0.0.1 --grpc-port $BQ_GRPC_PORT --project "$PROJECT" \
    --persistent --data-dir "$ROOT/.local/bigquery" --log-level warning \
    >"$ROOT/.local/log/bigquery.log" 2>&1 </dev/null &
  echo $! >"$RUN/bigquery.pid"
  wait_port $BQ_PORT bigquery 60
  echo "bigquery    127.0.0.1:$BQ_PORT (started)"
}

stop_pidfile() { # name
  local f="$RUN/$1.pid"
  [ -f "$f" ] || return 0
  local pid
  pid=$(cat "$f")
  kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  rm -f "$f"
  echo "$1 stopped"
}

status() {
  local name port
  for pair in postgresql:5432 redis:6379 pubsub:$PUBSUB_PORT bigquery:$BQ_PORT; do
    name=${pair%%:*}
    port=${pair##*:}
    if answers "$name"; then
      printf '%-11s 127.0.0.1:%s up (answers)\n' "$name" "$port"
    elif port_open "$port"; then
      printf '%-11s 127.0.0.1:%s NOT ANSWERING (port open)\n' "$name" "$port"
    else
      printf '%-11s 127.0.0.1:%s DOWN\n' "$name" "$port"
    fi
  done
}

case "${1:-up}" in
  up)
    start_postgres
    start_redis
    start_pubsub
    start_bigquery
    ;;
  down)
    stop_pidfile bigquery
    stop_pidfile pubsub
    stop_pidfile redis
    ;;
  status) status ;;
  install-bq) install_bqemulator ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
