#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs into .venv, pinned by
# requirements/test.txt (and redis-server, which the fault tests start on a random loopback
# port), then runs it all, including the end-to-end and fault tests against a real Gerrit that
# the harness downloads and starts.
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
