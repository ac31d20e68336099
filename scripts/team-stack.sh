#!/usr/bin/env bash
# The team stack as plain processes on one machine, no containers: PostgreSQL (the store of record and MLflow's
# database), a Chroma server, an MLflow tracking server, then `sherlock db upgrade`, the HTTP API and the app.
# compose.yaml runs the same stack in containers.
#
#   scripts/team-stack.sh start  [DIR]   start everything under DIR (default /tmp/sherlock-team)
#   scripts/team-stack.sh status [DIR]   what runs, each server's health, the store's schema
#   scripts/team-stack.sh stop   [DIR]   stop everything (the data stays in DIR; start again picks it up)
#
# Then `source DIR/env.sh` points the sherlock command at the stack (SHERLOCK_HOME, SHERLOCK_STORE_URL,
# SHERLOCK_CHROMA_URL, SHERLOCK_MLFLOW_TRACKING_URI). Ports are fixed and can be changed:
#   PG_PORT=55432 CHROMA_PORT=58000 MLFLOW_PORT=55000 API_PORT=58080 APP_PORT=58501
# BIND=127.0.0.1 is the address the API and the app listen on; serve them to others (BIND=0.0.0.0) only with sign-in
# in .streamlit/secrets.toml and API tokens (README, "Run it for a team"). PostgreSQL, Chroma and MLflow always
# listen on 127.0.0.1: PostgreSQL trusts local connections here, and neither Chroma nor MLflow asks who is calling.
#
# Needs: the repository's .venv (`make setup`; VENV=... for another), PostgreSQL's server programs (`make postgres`;
# the newest /usr/lib/postgresql/*/bin, or PG_BIN=...). As root, PostgreSQL runs as the `postgres` user, which must
# be able to enter DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ACTION="${1:-}"
DIR="$(realpath -m "${2:-${SHERLOCK_TEAM_DIR:-/tmp/sherlock-team}}")"
VENV="${VENV:-$ROOT/.venv}"
PG_PORT="${PG_PORT:-55432}"
CHROMA_PORT="${CHROMA_PORT:-58000}"
MLFLOW_PORT="${MLFLOW_PORT:-55000}"
API_PORT="${API_PORT:-58080}"
APP_PORT="${APP_PORT:-58501}"
BIND="${BIND:-127.0.0.1}"
PG_USER=postgres

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
    local found="" found_version=0 version dir
    for dir in /usr/lib/postgresql/*/bin; do  # the newest version (Debian's layout: /usr/lib/postgresql/<N>/bin)
        version="${dir#/usr/lib/postgresql/}"; version="${version%/bin}"
        if [[ -x "$dir/initdb" && "$version" =~ ^[0-9]+$ ]] && (( version > found_version )); then
            found="$dir"; found_version="$version"
        fi
    done
    [[ -x "$found/initdb" ]] || die "PostgreSQL's server programs are missing: run \`make postgres\` or set PG_BIN"
    echo "$found"
}

# PostgreSQL refuses to run as root: as root its programs run as the postgres user, else as ourselves
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_http NAME URL SECONDS PIDFILE: until URL answers 2xx; fail with the log's tail if the process dies or it
# takes too long
wait_http() {
    local name="$1" url="$2" seconds="$3" pidfile="$4" log="$DIR/logs/$1.log"
    for ((i = 0; i < seconds * 2; i++)); do
        if curl -fs -o /dev/null --max-time 2 "$url"; then return 0; fi
        if [[ -n "$pidfile" ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            tail -n 30 "$log" >&2 || true
            die "$name exited while starting (log: $log)"
        fi
        sleep 0.5
    done
    tail -n 30 "$log" >&2 || true
    die "$name did not answer $url within ${seconds}s (log: $log)"
}

# launch NAME ARGV...: in its own session (so stop can end its whole process group), output to logs/NAME.log
launch() {
    local name="$1"; shift
    setsid "$@" >"$DIR/logs/$name.log" 2>&1 < /dev/null &
    echo $! >"$DIR/run/$name.pid"
}

running() { [[ -f "$DIR/run/$1.pid" ]] && kill -0 "$(cat "$DIR/run/$1.pid")" 2>/dev/null; }

write_env() {
    # the ports and address of this start, for status
    printf 'PG_PORT=%s\nCHROMA_PORT=%s\nMLFLOW_PORT=%s\nAPI_PORT=%s\nAPP_PORT=%s\nBIND=%s\n' \
        "$PG_PORT" "$CHROMA_PORT" "$MLFLOW_PORT" "$API_PORT" "$APP_PORT" "$BIND" >"$DIR/run/ports"
    cat >"$DIR/env.sh" <<EOF
# source this file to point the sherlock command at the team stack in $DIR
export SHERLOCK_HOME="$DIR/home"
export SHERLOCK_STORE_URL="postgresql+psycopg://$PG_USER@127.0.0.1:$PG_PORT/sherlock"
export SHERLOCK_CHROMA_URL="http://127.0.0.1:$CHROMA_PORT"
export SHERLOCK_MLFLOW_TRACKING_URI="http://127.0.0.1:$MLFLOW_PORT"
export SHERLOCK_DEMO="\${SHERLOCK_DEMO:-false}"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
EOF
}

start() {
    [[ -x "$VENV/bin/sherlock" ]] || die "no $VENV/bin/sherlock: run \`make setup\` first (or set VENV)"
    command -v curl >/dev/null || die "curl is missing (used to wait for each server)"
    local pg; pg="$(pg_bin)"
    cd "$ROOT"  # the app and the API read .streamlit/ from the folder they run in
    mkdir -p "$DIR"/{logs,run,home,chroma,mlflow/artifacts}
    chmod 755 "$DIR"
    for name in postgres chroma mlflow api app; do
        if running "$name"; then die "$name already runs (pid $(cat "$DIR/run/$name.pid")): scripts/team-stack.sh stop $DIR"; fi
    done
    for port in "$PG_PORT" "$CHROMA_PORT" "$MLFLOW_PORT" "$API_PORT" "$APP_PORT"; do
        if port_busy "$port"; then die "port $port is in use; choose others (PG_PORT, CHROMA_PORT, MLFLOW_PORT, API_PORT, APP_PORT)"; fi
    done
    write_env
    # shellcheck source=/dev/null
    source "$DIR/env.sh"
    # a start that fails half-way stops what it started (the data stays)
    trap 'say "start failed: stopping what was started"; stop' EXIT

    # 1. PostgreSQL: a cluster of its own (trust for local connections), databases sherlock and mlflow
    mkdir -p "$DIR/pg"
    if [[ "$(id -u)" == 0 ]]; then chown "$PG_USER:" "$DIR/pg"; touch "$DIR/logs/postgres.log"; chown "$PG_USER:" "$DIR/logs/postgres.log"; fi
    if [[ ! -f "$DIR/pg/data/PG_VERSION" ]]; then
        say "postgres: initdb in $DIR/pg/data"
        as_pg "$pg/initdb" -D "$DIR/pg/data" -U "$PG_USER" -A trust -E UTF8 --no-locale >"$DIR/logs/initdb.log" 2>&1 \
            || { tail -n 20 "$DIR/logs/initdb.log" >&2; die "initdb failed (log: $DIR/logs/initdb.log)"; }
    fi
    as_pg "$pg/pg_ctl" -D "$DIR/pg/data" -l "$DIR/logs/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1" start >/dev/null \
        || { tail -n 20 "$DIR/logs/postgres.log" >&2; die "PostgreSQL did not start (log: $DIR/logs/postgres.log)"; }
    for db in sherlock mlflow; do
        if ! as_pg "$pg/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'" postgres | grep -q 1; then
            as_pg "$pg/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$db"
        fi
    done
    say "postgres: up on 127.0.0.1:$PG_PORT (databases sherlock, mlflow)"

    # 2. Chroma: the dense vectors
    launch chroma "$VENV/bin/chroma" run --path "$DIR/chroma" --host 127.0.0.1 --port "$CHROMA_PORT"
    wait_http chroma "$SHERLOCK_CHROMA_URL/api/v2/heartbeat" 60 "$DIR/run/chroma.pid"
    say "chroma:   up on $SHERLOCK_CHROMA_URL"

    # 3. MLflow: runs in the mlflow database, artifacts through the server (its proxy) into mlflow/artifacts;
    # job execution off (it would need a job runner, and Sherlock submits no jobs)
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false launch mlflow "$VENV/bin/mlflow" server \
        --backend-store-uri "postgresql+psycopg://$PG_USER@127.0.0.1:$PG_PORT/mlflow" \
        --artifacts-destination "$DIR/mlflow/artifacts" --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1
    wait_http mlflow "$SHERLOCK_MLFLOW_TRACKING_URI/health" 120 "$DIR/run/mlflow.pid"
    say "mlflow:   up on $SHERLOCK_MLFLOW_TRACKING_URI"

    # 4. the store's schema
    "$VENV/bin/sherlock" db upgrade

    # 5. the HTTP API and 6. the app, both on the one workspace (SHERLOCK_HOME: lexical indexes, tokens, logs)
    launch api "$VENV/bin/sherlock" serve --host "$BIND" --port "$API_PORT"
    wait_http api "http://127.0.0.1:$API_PORT/healthz" 120 "$DIR/run/api.pid"
    say "api:      up on http://$BIND:$API_PORT (docs at /docs; tokens: sherlock token create NAME --scope read)"
    launch app "$VENV/bin/streamlit" run app.py --server.address "$BIND" --server.port "$APP_PORT"
    wait_http app "http://127.0.0.1:$APP_PORT/_stcore/health" 120 "$DIR/run/app.pid"
    say "app:      up on http://$BIND:$APP_PORT"
    say "logs in $DIR/logs; \`source $DIR/env.sh\` to use the sherlock command on this stack"
    trap - EXIT
}

stop_one() {
    local name="$1" pid
    [[ -f "$DIR/run/$name.pid" ]] || return 0
    pid="$(cat "$DIR/run/$name.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
        say "$name: stopped"
    fi
    rm -f "$DIR/run/$name.pid"
}

stop() {
    for name in app api mlflow chroma; do stop_one "$name"; done
    if [[ -f "$DIR/pg/data/postmaster.pid" ]]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null && say "postgres: stopped"
    fi
}

# probe NAME URL: one line of status; false when it does not answer
probe() {
    if curl -fs -o /dev/null --max-time 3 "$2"; then say "$(printf '%-9s' "$1:") ok ($2)"; else say "$(printf '%-9s' "$1:") not answering ($2)"; return 1; fi
}

status() {
    [[ -f "$DIR/env.sh" && -f "$DIR/run/ports" ]] || die "nothing started in $DIR"
    # shellcheck source=/dev/null
    source "$DIR/run/ports"
    # shellcheck source=/dev/null
    source "$DIR/env.sh"
    local down=0
    if as_pg "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then say "postgres: ok (127.0.0.1:$PG_PORT)"; else say "postgres: not answering (127.0.0.1:$PG_PORT)"; down=1; fi
    probe chroma "$SHERLOCK_CHROMA_URL/api/v2/heartbeat" || down=1
    probe mlflow "$SHERLOCK_MLFLOW_TRACKING_URI/health" || down=1
    probe api "http://127.0.0.1:$API_PORT/healthz" || down=1
    probe app "http://127.0.0.1:$APP_PORT/_stcore/health" || down=1
    if [[ $down == 0 ]]; then "$VENV/bin/sherlock" db status; else return 1; fi
}

case "$ACTION" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: scripts/team-stack.sh start|stop|status [DIR]" ;;
esac
