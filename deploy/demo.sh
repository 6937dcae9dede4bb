#!/usr/bin/env bash
# The demo command (README): installs into .venv, starts a throwaway Gerrit on 127.0.0.1,
# the owners service and a Nova-shaped project with lieutenants and changes, prints where to
# look, and runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "demo.sh: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
# -qq: errors only (-q still prints setuptools' warnings about editable installs)
# the pinned, hashed dependencies of the service (deploy/lock.sh), then the project itself
say "installing the pinned dependencies into .venv (requirements/service.txt; about 40 s the first time)"
.venv/bin/python -m pip install -qq --disable-pip-version-check --require-hashes \
  -r requirements/service.txt
say "installing gerrit-owners into .venv (the command: .venv/bin/owners)"
.venv/bin/python -m pip install -qq --disable-pip-version-check --no-deps \
  --no-build-isolation -e .
say "starting Gerrit, the owners service and the demo project"
export PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python deploy/novademo.py
