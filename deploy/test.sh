#!/usr/bin/env bash
# The test command (README, CI): installs what the suite needs into .venv, pinned by
# requirements/test.txt (and redis-server, which the fault tests start on a random loopback
# port, and chromium for the browser tests), then runs it all, including the end-to-end and
# fault tests against a real Gerrit that the harness downloads and starts.
set -euo pipefail
cd "$(dirname "$0")/.."
# need PROGRAM WHAT-FAILS-WITHOUT-IT [PACKAGE]: install the Debian package (named PROGRAM unless
# given) when PROGRAM is missing from PATH, or, given as an absolute path, is no file (as root,
# saying so first: it changes the machine).
need() {
  local package="${3:-$1}"
  if [ "${1#/}" != "$1" ]; then [ -e "$1" ] && return; else command -v "$1" >/dev/null && return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: $1 is missing; installing the Debian package $package (apt-get update, then" \
      "apt-get install -y $package), since $2 without it" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    echo "test.sh: $1 is missing (apt-get install $package); $2" >&2
  fi
}
need redis-server "the Redis fault test will be skipped"
# The browser tests (tests/e2e/test_web.py) drive Debian's Chromium with Playwright; they fail
# (never skip) without it.  Playwright's own browser download is never used.
need chromium "the browser tests will fail"
# The Zuul tests (-m zuul, deploy/devzuul.py) fail without these: ZooKeeper and the two netty
# jars its TLS port needs, PostgreSQL, and bubblewrap (which Zuul's executors sandbox with).
need /usr/share/java/zookeeper.jar "the Zuul tests will fail" zookeeper
need /usr/share/java/netty-codec.jar "the Zuul tests will fail" libnetty-java
need /usr/share/java/netty-resolver.jar "the Zuul tests will fail" libnetty-java
need pg_ctlcluster "the Zuul tests will fail" postgresql
need bwrap "the Zuul tests will fail" bubblewrap
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# The pinned, hashed dependencies of the extras service, plot, bench and test (deploy/lock.sh
# refreshes them), then the project itself on top, built with the pinned setuptools.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
  -r requirements/test.txt
# Zuul (the -m zuul tests) runs from a virtualenv of its own, pinned by requirements/zuul.txt:
# its many dependencies would otherwise constrain the product's pins.
if [ ! -x .venv-zuul/bin/python ]; then
  python3 -m venv .venv-zuul
fi
.venv-zuul/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
  -r requirements/zuul.txt
# -qq: errors only (-q still prints setuptools' warnings about editable installs)
.venv/bin/python -m pip install -qq --disable-pip-version-check --no-deps \
  --no-build-isolation -e .
exec .venv/bin/python -m pytest "$@"
