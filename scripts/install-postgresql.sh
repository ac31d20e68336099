#!/usr/bin/env bash
# Install Debian's PostgreSQL server programs for the store tests when they are missing (run by `make test`).
# The tests start and stop their own server (initdb + pg_ctl on a free localhost port; tests/conftest.py,
# postgres_url); the cluster Debian's package may set up is not used.
set -euo pipefail
found() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
if ! found; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: PostgreSQL is missing (no /usr/lib/postgresql/*/bin/initdb) and apt-get is not available." >&2
        echo "       The store tests marked postgres need its server programs (initdb, pg_ctl): install your" >&2
        echo "       distribution's postgresql package, then run make test again." >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "Installing postgresql for the store tests (apt-get install postgresql)…"
    if ! apt-get install -y -q postgresql >/tmp/sherlock-ci-apt-postgresql.log 2>&1; then
        # a fresh machine may have no package lists yet: refresh them once and retry
        if ! { apt-get update -q && apt-get install -y -q postgresql; } \
                >>/tmp/sherlock-ci-apt-postgresql.log 2>&1; then
            tail -n 30 /tmp/sherlock-ci-apt-postgresql.log >&2
            echo "error: could not install postgresql with apt-get (full log: /tmp/sherlock-ci-apt-postgresql.log)." >&2
            exit 1
        fi
    fi
    if ! found; then
        echo "error: apt-get installed postgresql but /usr/lib/postgresql/*/bin/initdb is still missing." >&2
        exit 1
    fi
fi
