#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs into .venv, pinned by
# requirements/test.txt (and redis-server, which the fault tests start on a random loopback
# port, and chromium for the browser tests), then runs it all, including the end-to-end and
# fault tests against a real Gerrit that the harness downloads and starts.
set -euo pipefail
cd "$(dirname "$0")/.."
# need PROGRAM WHAT-FAILS-WITHOUT-IT: install the Debian package of that name when missing
# (as root, saying so first: it changes the machine).
need() {
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: $1 is missing; installing the Debian package $1 (apt-get update, then" \
      "apt-get install -y $1), since $2 without it" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
  else
    echo "test.sh: $1 is missing (apt-get install $1); $2" >&2
  fi
}
need redis-server "the Redis fault test will be skipped"
# The browser tests (tests/e2e/test_web.py) drive Debian's Chromium with Playwright; they fail
# (never skip) without it.  Playwright's own browser download is never used.
need chromium "the browser tests will fail"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# The pinned, hashed dependencies of the extras service, plot, bench and test (deploy/lock.sh
# refreshes them), then the project itself on top, built with the pinned setuptools.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
  -r requirements/test.txt
# -qq: errors only (-q still prints setuptools' warnings about editable installs)
.venv/bin/python -m pip install -qq --disable-pip-version-check --no-deps \
  --no-build-isolation -e .
exec .venv/bin/python -m pytest "$@"
