"""A throwaway, real Gerrit on loopback, for the end-to-end tests and the demo.

Importable (``import devgerrit``; pytest puts ``deploy/`` on ``sys.path``) and a CLI::

    python deploy/devgerrit.py start  [--site DIR] [--port N]
    python deploy/devgerrit.py status [--site DIR]
    python deploy/devgerrit.py stop   [--site DIR]
    OWNERS_GERRIT_VERSION=3.11.0 python deploy/devgerrit.py start --site DIR   # another release

Where Gerrit comes from. The usual ``gerrit.war`` is not obtainable here: the only registry this
project may use for Java is Maven Central through ``mvn``, and ``com.google.gerrit:gerrit-war``
is not served there for any version, while ``gerrit-acceptance-framework`` and
``gerrit-plugin-api`` are. Together (plus Bouncy Castle, which the war bundles) those two jars
hold the whole server, its launcher and its ``init``/``daemon`` programs, so Gerrit runs from
them as a class path instead of a war. The web UI's JavaScript is the one part they lack: the
REST API and Git over HTTP are complete, the browser UI is not.

Which Gerrit, which Java. :data:`GERRIT_VERSION` (``OWNERS_GERRIT_VERSION``; the tests'
``--gerrit-version``) picks the release, one of :data:`TESTED_VERSIONS` or any other whose two
jars the registry serves. The Java it needs is read from its jars' class files (3.10: Java 17;
3.11: Java 21), and :func:`find_jdk` picks a JDK at least that new: the one on ``PATH``, else
``JAVA_HOME``, else the oldest fitting one under ``/usr/lib/jvm``. That JDK runs Gerrit and
compiles the plugins with ``--release`` set to the API's own Java.

The webhooks plugin is likewise only distributed inside the war, so ``webhooks_plugin/`` holds
a small plugin with the same name, configuration and wire format, compiled here against the
plugin API (see the comment at the top of that Java file).

Every site also gets the project's own ``owners-submit-check`` plugin (``submit_check_plugin/``),
compiled the same way: in each submit it asks the owners service for a fresh verdict and refuses
the merge unless it is APPROVED. Until :func:`configure_submit_check` names the service, it
refuses every submit (it fails closed); ``novademo`` configures it when it starts the service.

Everything is bound to 127.0.0.1; the admin account of a development site is ``admin`` with
HTTP password ``secret``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

TESTED_VERSIONS = ("3.10.2", "3.11.0")
"""Releases CI runs the end-to-end tests on: the newest 3.10 and 3.11 whose two jars the
registry here serves (it has none of 3.10.3 to 3.10.6, and its 3.11.1+ lack the
acceptance-framework jar). The first is the default."""

GERRIT_VERSION = os.environ.get("OWNERS_GERRIT_VERSION") or TESTED_VERSIONS[0]
"""Gerrit release to run when none is passed (``OWNERS_GERRIT_VERSION``, read at import)."""

JDK_GLOB = "/usr/lib/jvm/*"
"""Where :func:`find_jdk` looks for a newer JDK than the one on PATH (Debian's layout)."""

BOUNCYCASTLE_VERSION = "1.78.1"
"""Bouncy Castle (password hashing, key handling): bundled in gerrit.war, absent from the jars."""

CACHE_DIR = Path(os.environ.get("OWNERS_GERRIT_CACHE", "~/.cache/gerrit-owners")).expanduser()
"""Where downloaded jars and the compiled plugin live: outside the repository, shared by runs."""

ADMIN_AUTH = ("admin", "secret")
"""The account ``init --dev`` creates, with its HTTP password."""

HEAP_LIMIT = "512m"
"""Plenty for a few projects and changes; keeps parallel test runs from eating the machine."""

SUBMIT_CHECK_PLUGIN = "owners-submit-check"
"""Name of the submit-check plugin: its jar, and its ``[plugin "..."]`` sections."""
SUBMIT_CHECK_TIMEOUT = "5s"
"""How long a submit waits for the owners service (``plugin.owners-submit-check.timeout``)."""

WEBHOOKS_SETTINGS: dict[str, str] = {
    # Loopback receivers answer at once: fail fast instead of the 5 s defaults.
    "connectionTimeout": "2000",
    "socketTimeout": "5000",
    # A receiver restarted by a test gets a couple of chances, and a test waiting for an event
    # never waits longer than ~1 s for a retry.
    "maxTries": "3",
    "retryInterval": "500",
    "threadPoolSize": "2",
    # Deliveries may only go to this machine.
    "allowedUrlPattern": r"http://(127\.0\.0\.1|localhost)(:[0-9]+)?/.*",
}
"""``[plugin "webhooks"]`` in gerrit.config; the plugin documents each key."""

SITE_SETTINGS: dict[str, str] = {
    # HTTP only unless a GerritServer is started with ssh=True (for Zuul's stream-events).
    "sshd.listenAddress": "off",
    # Read by gerrit.sh; GerritServer passes it to java as -Xmx.
    "container.heapLimit": HEAP_LIMIT,
    # Nothing listens on port 25 here; sending would only log connection errors.
    "sendemail.enable": "false",
    # A fresh site is on the current index versions; never start a background reindex.
    "index.onlineUpgrade": "false",
    # Plugins are installed before start; do not poll the plugins directory.
    "plugins.checkFrequency": "0",
    # Fewer idle threads on a two-core machine.
    "httpd.maxThreads": "16",
    **{f"plugin.webhooks.{key}": value for key, value in WEBHOOKS_SETTINGS.items()},
    f"plugin.{SUBMIT_CHECK_PLUGIN}.timeout": SUBMIT_CHECK_TIMEOUT,
}
"""gerrit.config settings applied by :func:`build_site` on top of ``init --dev``."""

LOG4J_PROPERTIES = """\
# Written by devgerrit.py. Passed to the daemon with -Dlog4j.configuration, which makes Gerrit
# skip its own setup: without the war that setup leaves log4j's root at DEBUG and writes every
# Jetty and JGit debug line to logs/error_log, which is both slow and unreadable.
log4j.rootLogger=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=[%d{ISO8601}] [%t] %-5p %c : %m%n
"""
"""etc/log4j.properties of a site: INFO and above, to the console log."""

_LAUNCHER = "com.google.gerrit.launcher.GerritLauncher"
_VERSION_RESOURCE = "com/google/gerrit/common/Version"
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
_PLUGIN_SOURCE = Path(__file__).resolve().parent / "webhooks_plugin" / "Webhooks.java"
_SUBMIT_CHECK_SOURCE = Path(__file__).resolve().parent / "submit_check_plugin" / "SubmitCheck.java"
_PID_FILE = Path("logs") / "devgerrit.pid"
_CONSOLE_LOG = Path("logs") / "console.log"

Auth = tuple[str, str]


class _PortTaken(RuntimeError):
    """Gerrit could not bind its HTTP port."""


class RestError(RuntimeError):
    """A Gerrit REST call answered with an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body.strip()[:500]}")
        self.status = status
        self.body = body


# --------------------------------------------------------------------------------------------
# Obtaining and laying out Gerrit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GerritDist:
    """A runnable Gerrit: the jars of its class path and the compiled plugins."""

    version: str
    classpath: tuple[Path, ...]
    webhooks_plugin: Path
    submit_check_plugin: Path
    java_home: Path
    """The JDK that runs this version (see :func:`find_jdk`)."""

    def command(self, program: str, *args: str, jvm_options: Sequence[str] = ()) -> list[str]:
        """The java command line running one of Gerrit's programs (init, daemon, reindex...)."""
        classpath = os.pathsep.join(str(jar) for jar in self.classpath)
        java = str(self.java_home / "bin" / "java")
        return [java, *jvm_options, "-cp", classpath, _LAUNCHER, program, *args]


def ensure_gerrit(cache_dir: Path | None = None, version: str | None = None) -> GerritDist:
    """Download Gerrit's jars with mvn and build the plugins, once per cache directory.

    ``version`` defaults to ``OWNERS_GERRIT_VERSION`` as set now (the tests' option sets it
    after import), else :data:`GERRIT_VERSION`. A file lock serialises concurrent test sessions
    sharing the cache, so two of them never download into or compile over each other.
    """
    version = version or os.environ.get("OWNERS_GERRIT_VERSION") or GERRIT_VERSION
    for tool in ("mvn", "git"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"devgerrit needs {tool!r} on PATH (a JDK 17+, Maven and git)")
    home = (cache_dir or CACHE_DIR) / version
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home / ".lock"):
        classpath = (*_ensure_jars(home, version), _ensure_version_jar(home, version))
        release = class_release(next(jar for jar in classpath if "gerrit-plugin-api" in jar.name))
        java_home = find_jdk(release, why=f"Gerrit {version}")
        plugin = _ensure_webhooks_plugin(home, classpath, java_home, release)
        submit_check = _ensure_submit_check_plugin(home, classpath, java_home, release)
    return GerritDist(
        version=version,
        classpath=classpath,
        webhooks_plugin=plugin,
        submit_check_plugin=submit_check,
        java_home=java_home,
    )


def class_release(jar: Path) -> int:
    """The Java release a Gerrit jar is compiled for (its class files' major version - 44).

    Read from the jar rather than tabled per version, so a new Gerrit that moves to a newer
    Java gets the right JDK and ``--release`` without an edit here.
    """
    with zipfile.ZipFile(jar) as archive:
        for name in archive.namelist():
            if name.startswith("com/google/gerrit/") and name.endswith(".class"):
                header = archive.read(name)[:8]
                return int.from_bytes(header[6:8], "big") - 44
    raise RuntimeError(f"{jar} holds no Gerrit class")


def jdk_release(java_home: Path) -> int | None:
    """Feature release of the JDK at ``java_home`` (17, 21, 25...), None if it is not a JDK.

    Read from its ``release`` file, which every OpenJDK build has, instead of running java.
    """
    tools = ("java", "javac", "jar")
    if not all(os.access(java_home / "bin" / tool, os.X_OK) for tool in tools):
        return None
    try:
        text = (java_home / "release").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "JAVA_VERSION":
            feature = value.strip().strip('"').split(".")[0]
            return int(feature) if feature.isdigit() else None
    return None


def find_jdk(release: int, *, why: str = "Gerrit") -> Path:
    """JAVA_HOME of a JDK of at least ``release``: PATH's first (the one the 3.10 harness has
    always used), then ``JAVA_HOME``, then the oldest fitting one under :data:`JDK_GLOB`.

    The oldest fitting one is the closest to the Java Gerrit is built and tested with.
    Raises with every JDK seen when none fits, so the fix (install one) is obvious.
    """
    candidates: list[Path] = []
    javac = shutil.which("javac")
    if javac:
        candidates.append(Path(javac).resolve().parent.parent)
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    found = [(jdk_release(Path(home)), Path(home)) for home in sorted(glob.glob(JDK_GLOB))]
    candidates += [home for _, home in sorted((r, h) for r, h in found if r is not None)]
    seen: dict[Path, int | None] = {}
    for home in candidates:
        resolved = home.resolve()
        if resolved in seen:
            continue
        seen[resolved] = jdk_release(resolved)
        if (seen[resolved] or 0) >= release:
            return resolved
    have = ", ".join(f"{home} (Java {r})" for home, r in seen.items() if r) or "none"
    raise RuntimeError(
        f"{why} needs a JDK {release} or newer (java, javac and jar): looked at javac on PATH, "
        f"JAVA_HOME and {JDK_GLOB}; found {have}. Install one there or set JAVA_HOME."
    )


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _artifacts(version: str) -> list[tuple[str, str, str]]:
    """(groupId, artifactId, version) of every jar on Gerrit's class path, launcher first."""
    bouncycastle = [
        ("org.bouncycastle", f"{name}-jdk18on", BOUNCYCASTLE_VERSION)
        for name in ("bcprov", "bcpkix", "bcutil", "bcpg")
    ]
    return [
        ("com.google.gerrit", "gerrit-acceptance-framework", version),
        ("com.google.gerrit", "gerrit-plugin-api", version),
        *bouncycastle,
    ]


def _ensure_jars(home: Path, version: str) -> tuple[Path, ...]:
    """Fetch the class path into ``home/lib`` with ``mvn``, which knows the registry and ~/.m2.

    mvn copies into a scratch directory that replaces ``lib`` only when complete, so an
    interrupted download is redone rather than leaving truncated jars behind.
    """
    lib = home / "lib"
    artifacts = _artifacts(version)
    jars = tuple(lib / f"{artifact}-{ver}.jar" for _, artifact, ver in artifacts)
    if all(jar.is_file() for jar in jars):
        return jars
    dependencies = "".join(
        f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
        f"<version>{ver}</version></dependency>"
        for group, artifact, ver in artifacts
    )
    pom = home / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>devgerrit</groupId><artifactId>gerrit-runtime</artifactId>"
        f"<version>{version}</version><dependencies>{dependencies}</dependencies></project>\n"
    )
    partial = home / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    mvn = ["mvn", "-q", "-B", "-f", str(pom), f"{_DEPENDENCY_PLUGIN}:copy-dependencies"]
    _run(
        [*mvn, "-DexcludeTransitive=true", f"-DoutputDirectory={partial}"],
        what=f"downloading Gerrit {version} with mvn",
    )
    missing = [jar.name for jar in jars if not (partial / jar.name).is_file()]
    if missing:
        raise RuntimeError(f"mvn did not provide {missing}")
    shutil.rmtree(lib, ignore_errors=True)
    partial.replace(lib)
    _say(f"downloaded Gerrit {version} jars in {time.monotonic() - started:.1f}s")
    return jars


def _ensure_version_jar(home: Path, version: str) -> Path:
    """A jar holding only Gerrit's version resource, so the server reports its real release.

    Gerrit reads its version from the resource ``com/google/gerrit/common/Version``, which the
    release build adds to the war and the two jars lack; without it Gerrit says ``(dev)``.
    Clients that compare versions then take it for an ancient release: Zuul treats "(dev)" as
    version 0 and stops reading submit requirements (docs/deployment.md, "With Zuul").  Put on
    the class path, this one resource makes ``/config/server/version`` answer ``version``.
    """
    jar = home / f"gerrit-version-{version}.jar"
    if not jar.is_file():
        partial = jar.with_suffix(".tmp")
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(_VERSION_RESOURCE, f"v{version}\n")
        partial.replace(jar)
    return jar


def _ensure_webhooks_plugin(
    home: Path, classpath: Sequence[Path], java_home: Path, release: int
) -> Path:
    """Compile webhooks_plugin/Webhooks.java into a plugin jar (see :func:`_ensure_plugin`)."""
    manifest = (
        "Gerrit-PluginName: webhooks\n"
        # Without it Gerrit treats the jar as an extension, which sees no server bindings.
        "Gerrit-ApiType: plugin\n"
        "Gerrit-Module: devgerrit.webhooks.Webhooks$Module\n"
        "Implementation-Title: devgerrit webhooks (wire-compatible stand-in)\n"
        f"Implementation-Version: {home.name}-devgerrit\n"
    )
    return _ensure_plugin(
        home, classpath, _PLUGIN_SOURCE, manifest, "webhooks", java_home=java_home, release=release
    )


def _ensure_submit_check_plugin(
    home: Path, classpath: Sequence[Path], java_home: Path, release: int
) -> Path:
    """Compile submit_check_plugin/SubmitCheck.java into the owners-submit-check plugin jar."""
    manifest = (
        f"Gerrit-PluginName: {SUBMIT_CHECK_PLUGIN}\n"
        "Gerrit-ApiType: plugin\n"
        "Gerrit-Module: owners.submitcheck.SubmitCheck$Module\n"
        "Implementation-Title: gerrit-owners submit-time check\n"
        f"Implementation-Version: {home.name}-devgerrit\n"
    )
    return _ensure_plugin(
        home,
        classpath,
        _SUBMIT_CHECK_SOURCE,
        manifest,
        SUBMIT_CHECK_PLUGIN,
        java_home=java_home,
        release=release,
    )


def _ensure_plugin(
    home: Path,
    classpath: Sequence[Path],
    source: Path,
    manifest: str,
    name: str,
    *,
    java_home: Path,
    release: int,
) -> Path:
    """Compile one Java file against the plugin API into ``home/<name>-<hash>.jar``; the
    hash covers the source, manifest and ``--release``, so an edited plugin is rebuilt and an
    unchanged one is not. ``--release`` is the plugin API's own Java (17 for 3.10, 21 for
    3.11): javac cannot read class files newer than its target."""
    material = source.read_bytes() + manifest.encode() + f"--release {release}".encode()
    digest = hashlib.sha256(material).hexdigest()
    plugin = home / f"{name}-{digest[:12]}.jar"
    if plugin.is_file():
        return plugin
    plugin_api = next(jar for jar in classpath if "gerrit-plugin-api" in jar.name)
    with tempfile.TemporaryDirectory(prefix="devgerrit-plugin-") as scratch:
        classes = Path(scratch) / "classes"
        javac = [str(java_home / "bin" / "javac"), "--release", str(release), "-nowarn"]
        javac += ["-cp", str(plugin_api)]
        _run([*javac, "-d", str(classes), str(source)], what=f"compiling the {name} plugin")
        manifest_file = Path(scratch) / "MANIFEST.MF"
        manifest_file.write_text(manifest)
        partial = plugin.with_suffix(".tmp")
        jar = [
            str(java_home / "bin" / "jar"),
            "--create",
            "--file",
            str(partial),
            "--manifest",
            str(manifest_file),
        ]
        _run([*jar, "-C", str(classes), "."], what=f"packaging the {name} plugin")
        partial.replace(plugin)
    return plugin


def build_site(site_dir: Path, dist: GerritDist | None = None) -> Path:
    """Initialise a development site (admin/secret) ready to start on loopback.

    ``init --dev`` creates the admin account and DEVELOPMENT_BECOME_ANY_ACCOUNT auth; the
    settings in :data:`SITE_SETTINGS` then make the site HTTP-only, quiet and small. init
    already builds every index at the current version, so no separate reindex is needed.
    """
    dist = dist or ensure_gerrit()
    site_dir = Path(site_dir).resolve()
    if site_dir.exists() and any(site_dir.iterdir()):
        raise FileExistsError(f"{site_dir} is not empty")
    started = time.monotonic()
    output = _run(
        dist.command(
            "init", "--batch", "--dev", "--no-auto-start", "--skip-plugins", "-d", str(site_dir)
        ),
        what="gerrit init",
    )
    (site_dir / "logs" / "init.log").write_text(output)
    # init copies the jar holding the launcher (62 MB) to bin/gerrit.war; sites run from the
    # cache instead.
    (site_dir / "bin" / "gerrit.war").unlink(missing_ok=True)
    # Persistent H2 caches only cost start time and disk for a throwaway site.
    _config(site_dir, "--unset", "cache.directory")
    shutil.rmtree(site_dir / "cache", ignore_errors=True)
    for key, value in SITE_SETTINGS.items():
        _config(site_dir, "--replace-all", key, value)
    (site_dir / "etc" / "log4j.properties").write_text(LOG4J_PROPERTIES)
    _bind(site_dir, 8080)
    _grant_pre_311_defaults(site_dir)
    shutil.copyfile(dist.webhooks_plugin, site_dir / "plugins" / "webhooks.jar")
    shutil.copyfile(dist.submit_check_plugin, site_dir / "plugins" / f"{SUBMIT_CHECK_PLUGIN}.jar")
    _say(f"built Gerrit site {site_dir} in {time.monotonic() - started:.1f}s")
    return site_dir


def configure_submit_check(
    site_dir: Path, url: str | None, token: str | None = None, *, timeout: str | None = None
) -> None:
    """Point a site's owners-submit-check plugin at the owners service (None: unset).

    The URL goes to gerrit.config, the token to secure.config (mode 0600), where the plugin
    reads them at its next check: no restart is needed, so a service started after Gerrit (as
    novademo does) is wired in at once.
    """
    site_dir = Path(site_dir)
    section = f"plugin.{SUBMIT_CHECK_PLUGIN}"
    if url is None:
        _config(site_dir, "--unset", f"{section}.url")
    else:
        _config(site_dir, "--replace-all", f"{section}.url", url)
    if timeout is not None:
        _config(site_dir, "--replace-all", f"{section}.timeout", timeout)
    secure = site_dir / "etc" / "secure.config"
    secure.touch(mode=0o600, exist_ok=True)
    secure.chmod(0o600)
    _config(site_dir, "--unset", f"{section}.token", file=secure)
    if token is not None:
        try:
            _config(site_dir, f"{section}.token", token, file=secure)
        except RuntimeError:  # its message would quote the token
            raise RuntimeError(f"cannot write {section}.token to {secure}") from None


def remove_submit_check(site_dir: Path) -> None:
    """Take the owners-submit-check plugin out of a stopped site (benchmarks compare)."""
    (Path(site_dir) / "plugins" / f"{SUBMIT_CHECK_PLUGIN}.jar").unlink(missing_ok=True)


def clone_site(template: Path, dest: Path) -> Path:
    """Copy a stopped, built site so each test group starts from a pristine Gerrit.

    Copying (a few hundredths of a second) is far cheaper than ``init`` (~5 s). Logs and pid
    files are left behind; the port is rebound when the copy is started.
    """
    template = Path(template).resolve()
    dest = Path(dest).resolve()

    def skip_logs(directory: str, names: list[str]) -> list[str]:
        return names if Path(directory) == template / "logs" else []

    shutil.copytree(template, dest, symlinks=True, ignore=skip_logs)
    return dest


def _config(site_dir: Path, *args: str, file: Path | None = None) -> list[str]:
    """Run ``git config`` on the site's gerrit.config (or ``file``); the output lines.

    A missing key is not an error: ``--get``/``--get-all`` then give no lines (git exits 1)
    and ``--unset`` does nothing (git exits 5).
    """
    result = subprocess.run(
        ["git", "config", "-f", str(file or site_dir / "etc" / "gerrit.config"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    tolerated = {"--get": 1, "--get-all": 1, "--unset": 5}.get(args[0])
    if result.returncode not in (0, tolerated):
        raise RuntimeError(f"git config {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.splitlines()


PRE_311_GRANTS: tuple[tuple[str, str, str], ...] = (
    ("refs/heads/*", "push", "group Administrators"),
    ("refs/meta/config", "push", "group Administrators"),
    ("refs/heads/*", "revert", "group Registered Users"),
)
"""(ref, permission, rule) in All-Projects that every new site had before Gerrit 3.11."""


def _grant_pre_311_defaults(site_dir: Path) -> None:
    """Add to All-Projects whichever of :data:`PRE_311_GRANTS` the site lacks.

    New sites of Gerrit 3.11 no longer let Administrators push to branches and refs/meta/config
    nor Registered Users revert, which 3.10's ``init`` did. The harness writes
    ``webhooks.config`` to refs/meta/config and seeds branches with direct pushes as admin (as
    ``owners gerrit-setup`` does on a real site: docs/deployment.md), and the tests revert as
    lieutenants, so both versions get the same rights. Written into the stopped site's
    repository with plain git, so the template carries it and no test pays for a REST round
    trip; on 3.10 it changes nothing.
    """
    repo = site_dir / "git" / "All-Projects.git"
    with tempfile.TemporaryDirectory(prefix="devgerrit-acl-") as scratch:
        work = Path(scratch)
        git(work, "init", "--quiet")
        git(work, "fetch", "--quiet", str(repo), "refs/meta/config")
        git(work, "checkout", "--quiet", "FETCH_HEAD")
        config = ["config", "-f", "project.config"]
        added = []
        for ref, permission, rule in PRE_311_GRANTS:
            key = f"access.{ref}.{permission}"
            present = subprocess.run(
                ["git", *config, "--get-all", key], cwd=work, capture_output=True, text=True
            ).stdout.splitlines()
            if rule not in (line.strip() for line in present):
                git(work, *config, "--add", key, rule)
                added.append(f"{permission} on {ref} to {rule}")
        if not added:
            return
        identity = {
            "GIT_AUTHOR_NAME": "devgerrit",
            "GIT_AUTHOR_EMAIL": "devgerrit@localhost",
            "GIT_COMMITTER_NAME": "devgerrit",
            "GIT_COMMITTER_EMAIL": "devgerrit@localhost",
        }
        message = f"devgerrit: grant what sites had before 3.11: {'; '.join(added)}"
        git(work, "commit", "--quiet", "-am", message, env=identity)
        git(work, "push", "--quiet", str(repo), "HEAD:refs/meta/config")


def _bind(site_dir: Path, port: int) -> None:
    """Make the site listen on, and link to, 127.0.0.1:port only."""
    url = f"http://127.0.0.1:{port}/"
    _config(site_dir, "httpd.listenUrl", url)
    _config(site_dir, "gerrit.canonicalWebUrl", url)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the kernel's next ephemeral one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Running Gerrit
# --------------------------------------------------------------------------------------------


class GerritServer:
    """One Gerrit daemon on a site, bound to 127.0.0.1.

    ``with GerritServer(site) as gerrit:`` starts it and always stops it. The console log goes
    to ``SITE/logs/console.log``; the pid to ``SITE/logs/devgerrit.pid`` for the CLI's stop.
    """

    def __init__(
        self,
        site: Path,
        port: int | None = None,
        dist: GerritDist | None = None,
        startup_timeout: float = 180.0,
        *,
        ssh: bool = False,
    ) -> None:
        self.site = Path(site).resolve()
        self._port_is_ours = port is None
        self.port = port or free_port()
        self.ssh_port: int | None = free_port() if ssh else None
        """With ``ssh``, the loopback port of Gerrit's SSH daemon (``stream-events`` for Zuul);
        else None and the site keeps SSH off."""
        self.dist = dist or ensure_gerrit()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL, without trailing slash, e.g. ``http://127.0.0.1:43817``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_auth(self) -> Auth:
        """(username, HTTP password) of the site's administrator."""
        return ADMIN_AUTH

    @property
    def rest(self) -> GerritRest:
        """A REST client acting as the administrator."""
        return GerritRest(self.url, self.admin_auth)

    @property
    def console_log(self) -> Path:
        """Gerrit's stdout and stderr: startup messages, errors, plugin logs."""
        return self.site / _CONSOLE_LOG

    @property
    def running(self) -> bool:
        """Whether the daemon process started by this object is still alive."""
        return self._process is not None and self._process.poll() is None

    def git_url(self, project: str) -> str:
        """Authenticated Git-over-HTTP URL of a project (credentials supplied separately)."""
        return f"{self.url}/a/{project}"

    def start(self, *, detach: bool = False) -> GerritServer:
        """Start the daemon and wait until its REST API answers.

        With ``detach`` the daemon gets its own session and outlives this Python process
        (the CLI's ``start``); otherwise it shares our process group, so Ctrl-C stops both.
        A port picked by :func:`free_port` can be taken by someone else before Gerrit binds
        it; then a fresh one is tried, up to three times.
        """
        if self.running:
            raise RuntimeError(f"Gerrit on {self.site} is already running")
        for _ in range(3):
            try:
                return self._start_once(detach)
            except _PortTaken:
                if not self._port_is_ours:
                    raise
                self.port = free_port()
                if self.ssh_port is not None:
                    self.ssh_port = free_port()
        raise RuntimeError(f"no free loopback port for Gerrit on {self.site}")

    def _start_once(self, detach: bool) -> GerritServer:
        _bind(self.site, self.port)
        if self.ssh_port is not None:
            _config(self.site, "--replace-all", "sshd.listenAddress", f"127.0.0.1:{self.ssh_port}")
        heap = _config(self.site, "--get", "container.heapLimit") or [HEAP_LIMIT]
        jvm = [
            f"-Dlog4j.configuration=file:{self.site / 'etc' / 'log4j.properties'}",
            f"-Xmx{heap[0]}",
            # A single-threaded collector and the client compiler halve startup (~4 s instead
            # of ~8 s) and speed up short test sessions; peak throughput does not matter here.
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            *_config(self.site, "--get-all", "container.javaOptions"),
        ]
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        log_offset = self.console_log.stat().st_size if self.console_log.exists() else 0
        started = time.monotonic()
        with self.console_log.open("ab") as log:
            self._process = subprocess.Popen(
                self.dist.command("daemon", "-d", str(self.site), "--console-log", jvm_options=jvm),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
            )
        (self.site / _PID_FILE).write_text(f"{self._process.pid}\n")
        try:
            self._wait_until_ready(started, log_offset)
        except BaseException:
            self.stop()
            raise
        _say(f"Gerrit {self.dist.version} up at {self.url} in {time.monotonic() - started:.1f}s")
        return self

    def _wait_until_ready(self, started: float, log_offset: int) -> None:
        probe = f"{self.url}/config/server/version"
        while True:
            if not self.running:
                log = self._log_since(log_offset)
                if "java.net.BindException" in log:
                    raise _PortTaken(f"127.0.0.1:{self.port} or the SSH port is already in use")
                raise RuntimeError(f"Gerrit exited during startup:\n{_tail(log)}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(probe, timeout=2).status_code == 200:
                    return
            if time.monotonic() - started > self.startup_timeout:
                log = _tail(self._log_since(log_offset))
                raise TimeoutError(f"Gerrit not ready after {self.startup_timeout:.0f}s:\n{log}")
            time.sleep(0.25)

    def _log_since(self, offset: int) -> str:
        with self.console_log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (Gerrit shuts down cleanly), then SIGKILL if it takes longer than timeout."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        (self.site / _PID_FILE).unlink(missing_ok=True)

    def restart(self) -> GerritServer:
        """Stop and start again on the same port (e.g. after editing gerrit.config)."""
        self.stop()
        return self.start()

    def __enter__(self) -> GerritServer:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# REST
# --------------------------------------------------------------------------------------------


def parse_response(text: str) -> Any:
    """Decode a Gerrit JSON answer, dropping the ``)]}'`` line that guards against XSSI."""
    if text.startswith(")]}'"):
        text = text[4:]
    text = text.strip()
    return json.loads(text) if text else None


def quote(name: str) -> str:
    """Encode a name as one URL path segment (project and group names may contain '/')."""
    return urllib.parse.quote(name, safe="")


class GerritRest:
    """Authenticated calls to one Gerrit's REST API: ``/a/...`` with HTTP basic auth."""

    def __init__(self, url: str, auth: Auth) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth

    def call(
        self, method: str, path: str, body: Any = None, *, ok: Sequence[int] = (200, 201, 204)
    ) -> Any:
        """Send one request; the decoded answer, or RestError for a status not in ``ok``."""
        response = self.session.request(
            method, f"{self.url}/a/{path.lstrip('/')}", json=body, timeout=60
        )
        if response.status_code not in ok:
            raise RestError(method, path, response.status_code, response.text)
        return parse_response(response.text)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def put(self, path: str, body: Any = None) -> Any:
        return self.call("PUT", path, body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def create_account(
        self,
        username: str,
        *,
        http_password: str,
        email: str | None = None,
        full_name: str | None = None,
    ) -> dict[str, Any]:
        """Create an account that can use REST and Git over HTTP with ``http_password``."""
        body = {
            "username": username,
            "name": full_name or username.title(),
            "email": email or f"{username}@example.com",
            "http_password": http_password,
        }
        return self.put(f"accounts/{quote(username)}", body)

    def create_group(self, name: str, members: Sequence[str] = ()) -> dict[str, Any]:
        """Create an internal group (owned by its creator) and add ``members``."""
        group = self.put(f"groups/{quote(name)}", {"name": name})
        if members:
            self.add_group_members(name, members)
        return group

    def add_group_members(self, group: str, members: Sequence[str]) -> list[dict[str, Any]]:
        """Add accounts (username, email or id) to a group."""
        return self.post(f"groups/{quote(group)}/members.add", {"members": list(members)})

    def create_project(
        self, name: str, *, parent: str | None = None, branch: str = "master"
    ) -> dict[str, Any]:
        """Create a project whose ``branch`` starts with one empty commit."""
        body: dict[str, Any] = {"branches": [branch], "create_empty_commit": True}
        if parent:
            body["parent"] = parent
        return self.put(f"projects/{quote(name)}", body)

    def query_changes(self, query: str, *options: str) -> list[dict[str, Any]]:
        """``GET /changes/?q=...&o=...``; options such as CURRENT_REVISION, DETAILED_LABELS."""
        params = urllib.parse.urlencode([("q", query), *(("o", option) for option in options)])
        return self.get(f"changes/?{params}")


# --------------------------------------------------------------------------------------------
# Git over HTTP
# --------------------------------------------------------------------------------------------

# A credential helper that answers "get" from the environment: the password is never on a
# command line (visible in ps) nor in a URL (echoed by git in errors and remote messages).
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=$DEVGERRIT_GIT_USERNAME"; echo "password=$DEVGERRIT_GIT_PASSWORD"; }; f'
)


def git(
    repo_dir: Path, *args: str, auth: Auth | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run git in ``repo_dir`` and return its combined output; raise with it on failure.

    With ``auth``, HTTP credentials come from a throwaway credential helper fed through the
    environment, and any helper configured for the user is ignored.
    """
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    options: list[str] = []
    if auth is not None:
        options = ["-c", "credential.helper=", "-c", f"credential.helper={_CREDENTIAL_HELPER}"]
        full_env["DEVGERRIT_GIT_USERNAME"], full_env["DEVGERRIT_GIT_PASSWORD"] = auth
    result = subprocess.run(
        ["git", *options, *args],
        cwd=repo_dir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo_dir}:\n{result.stdout}")
    return result.stdout


def git_clone(url: str, dest: Path, auth: Auth) -> Path:
    """Clone a project (see :meth:`GerritServer.git_url`) into ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "--quiet", url, str(dest), auth=auth)
    return dest


def git_commit(
    repo_dir: Path,
    message: str,
    files: Mapping[str, str | None],
    *,
    author: tuple[str, str],
    change_id: str | None = None,
) -> str:
    """Write (or, for None, delete) files, commit them with a Change-Id (a new one unless
    ``change_id`` names the change this is a new patch set of), return the sha.

    ``author`` is (name, email) and is also the committer: Gerrit refuses a push whose
    committer email is not one of the pushing account's emails.
    """
    repo_dir = Path(repo_dir)
    for name, content in files.items():
        path = repo_dir / name
        if content is None:
            git(repo_dir, "rm", "--quiet", "--", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        git(repo_dir, "add", "--", name)
    name, email = author
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    full_message = f"{message.rstrip()}\n\nChange-Id: {change_id or 'I' + secrets.token_hex(20)}\n"
    git(repo_dir, "commit", "--quiet", "--allow-empty", "-m", full_message, env=identity)
    return git(repo_dir, "rev-parse", "HEAD").strip()


def git_push(repo_dir: Path, url: str, user: str, password: str, refspec: str) -> str:
    """Push over HTTP as ``user``; returns git's output, which holds Gerrit's messages."""
    return git(repo_dir, "push", url, refspec, auth=(user, password))


def set_webhook(
    server_url: str,
    auth: Auth,
    project: str,
    remote: str,
    url: str,
    events: Sequence[str] = (),
) -> None:
    """Make the webhooks plugin post a project's events (all when ``events`` is empty) to url.

    Writes ``[remote "<remote>"]`` in ``webhooks.config`` on the project's refs/meta/config
    with git, as the REST API has no endpoint for plugin files there. Settings on All-Projects
    are inherited by every project.
    """
    with tempfile.TemporaryDirectory(prefix="devgerrit-meta-") as scratch:
        repo = Path(scratch)
        git(repo, "init", "--quiet")
        git(repo, "fetch", "--quiet", f"{server_url}/a/{project}", "refs/meta/config", auth=auth)
        git(repo, "checkout", "--quiet", "FETCH_HEAD")
        config = ["config", "-f", "webhooks.config"]
        git(repo, *config, f"remote.{remote}.url", url)
        with contextlib.suppress(RuntimeError):  # no event lines yet
            git(repo, *config, "--unset-all", f"remote.{remote}.event")
        for event in events:
            git(repo, *config, "--add", f"remote.{remote}.event", event)
        git(repo, "add", "webhooks.config")
        account = GerritRest(server_url, auth).get("accounts/self")
        identity = {
            "GIT_AUTHOR_NAME": account["name"],
            "GIT_AUTHOR_EMAIL": account["email"],
            "GIT_COMMITTER_NAME": account["name"],
            "GIT_COMMITTER_EMAIL": account["email"],
        }
        git(repo, "commit", "--quiet", "-m", f"webhooks: remote {remote} -> {url}", env=identity)
        git(
            repo, "push", "--quiet", f"{server_url}/a/{project}", "HEAD:refs/meta/config", auth=auth
        )


# --------------------------------------------------------------------------------------------
# Receiving webhooks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One POST received by an :class:`EventReceiver`."""

    path: str
    headers: dict[str, str]
    payload: Any
    received: float = field(default_factory=time.monotonic)  # when its body was read


class EventReceiver:
    """A loopback HTTP endpoint that records webhook deliveries, for tests and fixtures.

    Answers every POST with 204, like a well-behaved receiver, so the plugin never retries.
    """

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = Delivery(self.path, dict(self.headers.items()), json.loads(body))
                self.send_response(204)
                self.end_headers()
                with receiver._arrived:
                    receiver.deliveries.append(delivery)
                    receiver._arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                """Silence per-request logging to stderr."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to point a webhook remote."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/events"

    @property
    def events(self) -> list[Any]:
        """Payloads received so far, in arrival order."""
        with self._arrived:
            return [delivery.payload for delivery in self.deliveries]

    def wait_for(
        self, predicate: Callable[[Any], bool], timeout: float = 30.0, count: int = 1
    ) -> Any:
        """The ``count``-th payload satisfying ``predicate``, waiting up to ``timeout`` for it.

        Payloads received before the call count too, so an action and its wait need no
        particular ordering.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matches = [d.payload for d in self.deliveries if predicate(d.payload)]
                if len(matches) >= count:
                    return matches[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [delivery.payload.get("type") for delivery in self.deliveries]
                    raise TimeoutError(f"no matching event within {timeout}s; got {seen}")
                self._arrived.wait(remaining)

    def start(self) -> EventReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EventReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# Helpers and CLI
# --------------------------------------------------------------------------------------------


def _run(command: Sequence[str], *, what: str) -> str:
    """Run a tool to completion; on failure raise with the tail of its output."""
    result = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{_tail(result.stdout)}")
    return result.stdout


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _say(message: str) -> None:
    print(f"devgerrit: {message}", file=sys.stderr, flush=True)


def _daemon_pid(site: Path) -> int | None:
    """Pid of a Gerrit daemon started on ``site`` by this module, if it still runs."""
    try:
        pid = int((site / _PID_FILE).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    # Guard against a recycled pid: it must be the daemon of this very site.
    return pid if b"daemon" in cmdline and str(site).encode() in cmdline else None


def _cli_start(site: Path, port: int | None) -> int:
    if _daemon_pid(site):
        _say(f"already running on {site}; stop it first")
        return 1
    if not (site / "etc" / "gerrit.config").is_file():
        build_site(site)
    server = GerritServer(site, port=port).start(detach=True)
    print(f"{server.url}  (admin / {ADMIN_AUTH[1]}, log: {server.console_log})")
    return 0


def _cli_stop(site: Path, timeout: float = 30.0) -> int:
    pid = _daemon_pid(site)
    if pid is None:
        _say(f"no Gerrit running on {site}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _daemon_pid(site) == pid and time.monotonic() < deadline:
        time.sleep(0.2)
    if _daemon_pid(site) == pid:
        os.kill(pid, signal.SIGKILL)
    (site / _PID_FILE).unlink(missing_ok=True)
    _say(f"stopped Gerrit on {site}")
    return 0


def _cli_status(site: Path) -> int:
    pid = _daemon_pid(site)
    if pid is None:
        print(f"stopped ({site})")
        return 3
    url = _config(site, "--get", "gerrit.canonicalWebUrl")[0].rstrip("/")
    try:
        version = parse_response(requests.get(f"{url}/config/server/version", timeout=5).text)
    except requests.RequestException:
        version = None
    print(f"running pid={pid} url={url} version={version or 'not answering yet'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python deploy/devgerrit.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("start", "build the site if needed, start Gerrit in the background"),
        ("stop", "stop the Gerrit started on the site"),
        ("status", "report whether Gerrit runs on the site (exit 3 when stopped)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--site",
            type=Path,
            default=Path(".demo/gerrit"),
            help="site directory (default: %(default)s)",
        )
        if name == "start":
            command.add_argument("--port", type=int, help="loopback port (default: a free one)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if args.command == "start":
        return _cli_start(site, args.port)
    if args.command == "stop":
        return _cli_stop(site)
    return _cli_status(site)


if __name__ == "__main__":
    sys.exit(main())
