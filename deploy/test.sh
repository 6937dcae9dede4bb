#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs into .venv, then runs it all,
# including the end-to-end tests against a real Gerrit that the harness downloads and starts.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[service,test]'
exec .venv/bin/python -m pytest "$@"
