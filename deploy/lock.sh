#!/usr/bin/env bash
# Refreshes the pinned, hashed dependencies (README, "Pinned dependencies"): resolves
# pyproject.toml for every platform and Python 3.11+ and writes what the scripts install with
# `pip install --require-hashes`:
#   requirements/test.txt     base + [service,plot,bench,test]  (deploy/test.sh, CI)
#   requirements/service.txt  base + [service]                  (deploy/demo.sh)
#   requirements/base.txt     the base install alone            (pip install .)
#   requirements/zuul.txt     Zuul (requirements/zuul.in) alone  (.venv-zuul: the -m zuul tests)
# The two subsets are resolved within test.txt's pins, so one package has one version in all
# three.  Each also pins pip and setuptools (the dependency group `tools`): the scripts build
# the project with --no-build-isolation, so nothing unpinned is fetched.
# Needs uv (pip install uv).  Extra arguments go to every `uv pip compile`, e.g. --upgrade or
# --upgrade-package requests; without them the current pins are kept where they still fit.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || { echo "lock.sh: needs uv: pip install uv" >&2; exit 2; }
compile() {
  local out="requirements/$1"
  shift
  uv pip compile --quiet pyproject.toml --group tools --universal --python-version 3.11 \
    --generate-hashes --custom-compile-command deploy/lock.sh --output-file "$out" "$@"
}
compile test.txt --extra service --extra plot --extra bench --extra test "$@"
compile service.txt --extra service --constraint requirements/test.txt "$@"
compile base.txt --constraint requirements/test.txt "$@"
# Zuul is resolved on its own: it runs in its own virtualenv and never shares the product's pins.
uv pip compile --quiet requirements/zuul.in --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command deploy/lock.sh --output-file requirements/zuul.txt "$@"
