#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs into .venv (redis-server, which
# the fault tests start on a random loopback port, and chromium for the browser tests), then
# runs it all, including the end-to-end and fault tests against a real Gerrit that the
# harness downloads and starts.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "test.sh: redis-server is missing (apt-get install redis-server); the Redis fault test will be skipped" >&2
  fi
fi
# The browser tests (tests/e2e/test_web.py) drive Debian's Chromium with Playwright; they fail
# (never skip) without it.  Playwright's own browser download is never used.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "test.sh: chromium is missing (apt-get install chromium); the browser tests will fail" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[service,plot,bench,test]'
exec .venv/bin/python -m pytest "$@"
