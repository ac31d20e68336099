#!/usr/bin/env bash
# Install Debian's Chromium for tests/app/test_browser.py when it is missing (run by `make test`).
# Playwright's own browser download cannot reach its CDN from here, so the test drives /usr/bin/chromium.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: /usr/bin/chromium is missing and apt-get is not available to install it." >&2
        echo "       The browser test (tests/app/test_browser.py) needs Chromium at /usr/bin/chromium:" >&2
        echo "       install your distribution's chromium package, then run make test again." >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "Installing chromium for the browser test (apt-get install chromium)…"
    if ! apt-get install -y -q chromium >/tmp/sherlock-ci-apt.log 2>&1; then
        # a fresh machine may have no package lists yet: refresh them once and retry
        if ! { apt-get update -q && apt-get install -y -q chromium; } \
                >>/tmp/sherlock-ci-apt.log 2>&1; then
            tail -n 30 /tmp/sherlock-ci-apt.log >&2
            echo "error: could not install chromium with apt-get (full log: /tmp/sherlock-ci-apt.log)." >&2
            exit 1
        fi
    fi
    if [ ! -x /usr/bin/chromium ]; then
        echo "error: apt-get installed chromium but /usr/bin/chromium is still missing." >&2
        exit 1
    fi
fi

