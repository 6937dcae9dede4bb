"""A throwaway Zuul gating the demo project on a dev Gerrit, for the Zuul tests (``-m zuul``).

What runs, all on 127.0.0.1 and under one work directory that the tests' tmp dir holds:

- ZooKeeper (Debian's ``zookeeper``) on a TLS-only port, as Zuul requires, with a CA and
  certificates made at start and never kept. Debian's jar lists its class path in its manifest
  but omits ``netty-codec.jar`` and ``netty-resolver.jar`` (``libnetty-java``), which its TLS
  server needs: they are added here. Its data starts empty each run.
- PostgreSQL (Debian's), a fresh cluster, for Zuul's build database.
- zuul-scheduler and zuul-merger of PyPI's ``zuul`` 14.3.0, from ``.venv-zuul`` (installed by
  deploy/test.sh from requirements/zuul.txt: Zuul's own pins, kept out of the product's).
  There is no executor: the project runs Zuul's built-in ``noop`` job, which needs none.
- A tenant whose config project holds deploy/zuul/zuul.yaml (the check and gate pipelines of
  docs/deployment.md, "With Zuul") and whose untrusted project is the demo's ``nova``.

Gerrit's side (:func:`configure_gerrit`) is what docs/deployment.md tells an admin to do and
deploy/zuul/project.config.example shows: a ``zuul`` account with an SSH key and an HTTP
password in a ``Zuul`` group holding Stream Events, the Workflow and Verified labels and
their submit requirements, Workflow +1 for a ``Nova Core`` group, Verified and submit for Zuul.
Zuul 14 reads Gerrit's events only from SSH ``stream-events``, so Gerrit must be started with
``GerritServer(ssh=True)``; it must also report its real version (devgerrit does), or Zuul
ignores submit requirements.

:func:`running` returns once Zuul has loaded the tenant and an event made on Gerrit has come
through its event stream, so a test acts only when Zuul listens.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import devgerrit

REPO_ROOT = Path(__file__).resolve().parent.parent
ZUUL_VENV = REPO_ROOT / ".venv-zuul"
"""Zuul's own virtualenv (deploy/test.sh creates it from requirements/zuul.txt)."""
ZUUL_YAML = Path(__file__).resolve().parent / "zuul" / "zuul.yaml"
TENANT = "owners"
CONFIG_PROJECT = "zuul-config"
ACCOUNT = "zuul"
GROUP = "Zuul"
CORE_GROUP = "Nova Core"
CORE = ("carol", "dave", "erin")
"""The demo's nova-core (tests/fixtures/nova-OWNERS.yaml): the only ones who may Workflow +1."""
ZOOKEEPER_CLASSPATH = (
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/netty-codec.jar",
    "/usr/share/java/netty-resolver.jar",
    "/usr/share/java/slf4j-simple.jar",
)
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
STARTUP_TIMEOUT = 120.0

LABELS = {
    "Workflow": {-1: "Work in progress", 0: "Ready for reviews", 1: "Approved"},
    "Verified": {
        -2: "Fails",
        -1: "Doesn't seem to work",
        0: "No score",
        1: "Works for me",
        2: "Verified by the gate",
    },
}
"""The labels OpenStack gates with: Workflow (core's go) and Verified (Zuul's result)."""


def missing() -> list[str]:
    """What this machine lacks to run the harness (empty when it can)."""
    lacks = [jar for jar in ZOOKEEPER_CLASSPATH if not Path(jar).is_file()]
    if not glob.glob(f"{POSTGRES_BIN_GLOB}/initdb"):
        lacks.append("PostgreSQL's initdb")
    if shutil.which("bwrap") is None:
        lacks.append("bwrap")
    if not (ZUUL_VENV / "bin" / "zuul-scheduler").is_file():
        lacks.append(f"{ZUUL_VENV}/bin/zuul-scheduler")
    for tool in ("openssl", "ssh-keygen", "java"):
        if shutil.which(tool) is None:
            lacks.append(tool)
    return lacks


@dataclass
class Zuul:
    """A running Zuul: where its logs are, and how to pause its merger."""

    workdir: Path
    gerrit: devgerrit.GerritServer
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_in: float = 0.0
    """Seconds from :func:`running`'s start (certificates, Gerrit's side, ZooKeeper,
    PostgreSQL, the daemons) until Zuul had handled a probe event from Gerrit's stream."""
    probe: int = 0
    """The number of the config project's change that :meth:`wait_for_events_read` comments on."""

    @property
    def scheduler_log(self) -> Path:
        return self.workdir / "logs" / "scheduler.log"

    def log_text(self) -> str:
        return self.scheduler_log.read_text(errors="replace")

    def enqueued(self, number: int, pipeline: str = "gate") -> list[str]:
        """The scheduler's log lines saying change `number` entered `pipeline`'s queue.

        Every enqueue is logged ("Adding [<Change ... N,P>] to queue ... in <Pipeline gate>"),
        so an empty list after the triggering events were read means the change was never
        enqueued, however briefly.
        """
        pattern = re.compile(
            rf"Adding \[.*<Change 0x[0-9a-f]+ \S+ {number},\d+>.*\] to queue .*"
            rf" in <Pipeline {pipeline}>"
        )
        return [line for line in self.log_text().splitlines() if pattern.search(line)]

    def wait_for_log(self, pattern: str, *, after: int = 0, timeout: float = 60.0) -> str:
        """Wait until the scheduler's log, from offset `after`, has a line matching `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()[after:]
            for line in text.splitlines():
                if regex.search(line):
                    return line
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no line matching {pattern!r} in {self.scheduler_log}")
            time.sleep(0.1)

    def log_offset(self) -> int:
        return len(self.log_text())

    def wait_for_events_read(self, timeout: float = 60.0) -> None:
        """Return once Zuul has decided on every Gerrit event made before this call.

        The probe is a comment on a change of the config project, which no pipeline takes.
        Zuul handles it as it handles the tests' events, in order: the connector reads it
        after them from the stream (an event no trigger could match, a tag say, is dropped
        there, before the earlier ones are even forwarded), queries Gerrit for its change, and
        the scheduler's run handler matches it against the pipelines after them.  The
        handler's next "sleeping" ends the pass in which the pipelines processed every event
        matched before it, so whatever enters a queue has entered it by then.
        """
        offset = self.log_offset()
        self.gerrit.rest.post(
            f"changes/{self.probe}/revisions/current/review",
            {"message": f"probe {secrets.token_hex(6)}"},
        )
        probe = rf"<GerritTriggerEvent comment-added \S+/{CONFIG_PROJECT} \S+ {self.probe},1\b"
        matched = self.wait_for_log(
            rf"zuul\.Pipeline\.{TENANT}\.\w+: .*{probe}", after=offset, timeout=timeout
        )
        after = offset + self.log_text()[offset:].index(matched)
        self.wait_for_log(r"Run handler sleeping", after=after, timeout=timeout)

    @contextlib.contextmanager
    def merger_paused(self) -> Iterator[None]:
        """Hold every change that enters the gate there: without a merger, no speculative
        merge is made, so no job starts and nothing reports until the block ends."""
        self._command("merger", "pause")
        try:
            yield
        finally:
            self._command("merger", "unpause")

    def _command(self, component: str, command: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
            channel.connect(str(self.workdir / f"{component}.socket"))
            channel.sendall(f"{command}\n".encode())

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = self.workdir / "logs" / f"{name}.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{tail}")


def configure_gerrit(gerrit: devgerrit.GerritServer, project: str, public_key: str) -> str:
    """Give Zuul what it needs on `project` (docs/deployment.md, "With Zuul"); its HTTP password.

    The ``zuul`` account (SSH key for stream-events, HTTP password for REST) in the ``Zuul``
    group, which holds the Stream Events capability, Verified -2..+2 and submit on the project;
    ``Nova Core`` may vote Workflow; both labels are NoBlock, with submit requirements.
    """
    admin = gerrit.rest
    http_password = secrets.token_urlsafe(18)
    admin.put(
        f"accounts/{ACCOUNT}",
        {
            "name": "Zuul",
            "email": "zuul@example.org",
            "ssh_key": public_key,
            "http_password": http_password,
        },
    )
    admin.create_group(GROUP, [ACCOUNT])
    admin.create_group(CORE_GROUP, list(CORE))
    zuul_group = admin.get(f"groups/{devgerrit.quote(GROUP)}")["id"]
    core_group = admin.get(f"groups/{devgerrit.quote(CORE_GROUP)}")["id"]
    admin.post(
        "projects/All-Projects/access",
        {
            "add": {
                "GLOBAL_CAPABILITIES": {
                    "permissions": {"streamEvents": {"rules": {zuul_group: {"action": "ALLOW"}}}}
                }
            }
        },
    )
    for label, values in LABELS.items():
        admin.put(
            f"projects/{devgerrit.quote(project)}/labels/{label}",
            {
                "values": {
                    f"{value:+d}" if value else " 0": text for value, text in values.items()
                },
                "function": "NoBlock",
                "default_value": 0,
            },
        )
        admin.put(
            f"projects/{devgerrit.quote(project)}/submit_requirements/{label}",
            {
                "name": label,
                "description": REQUIREMENT_DESCRIPTIONS[label],
                "submittability_expression": f"label:{label}=MAX AND -label:{label}=MIN",
                "allow_override_in_child_projects": False,
            },
        )
    admin.post(
        f"projects/{devgerrit.quote(project)}/access",
        {
            "add": {
                "refs/heads/*": {
                    "permissions": {
                        "label-Workflow": {
                            "rules": {core_group: {"action": "ALLOW", "min": -1, "max": 1}}
                        },
                        "label-Verified": {
                            "rules": {zuul_group: {"action": "ALLOW", "min": -2, "max": 2}}
                        },
                        "submit": {"rules": {zuul_group: {"action": "ALLOW"}}},
                    }
                }
            }
        },
    )
    return http_password


REQUIREMENT_DESCRIPTIONS = {
    "Workflow": "A core reviewer approved the change for the gate (Workflow +1)",
    "Verified": "Zuul's gate passed (Verified +2, set by Zuul as it submits)",
}


@contextlib.contextmanager
def running(gerrit: devgerrit.GerritServer, workdir: Path, project: str = "nova") -> Iterator[Zuul]:
    """Configure Gerrit for Zuul, start ZooKeeper, PostgreSQL, the scheduler and the merger;
    yield once the tenant is loaded and the event stream delivers; stop all of it after."""
    if gerrit.ssh_port is None:
        raise ValueError("Zuul needs Gerrit's SSH stream-events: GerritServer(ssh=True)")
    lacks = missing()
    if lacks:
        raise RuntimeError(
            f"the Zuul harness needs {', '.join(lacks)} (deploy/test.sh installs them)"
        )
    workdir = Path(workdir).resolve()
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    zuul = Zuul(workdir, gerrit)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        tls = _certificates(workdir / "tls")
        key = _ssh_key(workdir / "ssh")
        http_password = configure_gerrit(gerrit, project, key.with_suffix(".pub").read_text())
        _push_config_project(gerrit, workdir)
        zuul.probe = gerrit.rest.post(
            "changes/",
            {"project": CONFIG_PROJECT, "branch": "master", "subject": "The harness's event probe"},
        )["_number"]
        zookeeper_port = stack.enter_context(_zookeeper(workdir, tls))
        database_url = stack.enter_context(_postgres())
        config = _write_config(
            workdir, gerrit, tls, key, http_password, zookeeper_port, database_url, project
        )
        for component in ("scheduler", "merger"):
            zuul.processes[component] = stack.enter_context(_daemon(workdir, component, config))
        # Priming loads every tenant's layout before it logs this.
        zuul.wait_for_log(r"Config priming complete", timeout=STARTUP_TIMEOUT)
        zuul.wait_for_events_read(timeout=STARTUP_TIMEOUT)
        zuul.started_in = time.monotonic() - started
        devgerrit._say(f"Zuul up in {zuul.started_in:.1f}s ({workdir})")
        yield zuul


def _run(*command: str, cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


@dataclass(frozen=True)
class _Tls:
    ca: Path
    server: Path
    """Certificate and key in one PEM file, as ZooKeeper's PEM key store reads it."""
    client_cert: Path
    client_key: Path


def _certificates(directory: Path) -> _Tls:
    """A throwaway CA and a server and a client certificate for 127.0.0.1, made with openssl."""
    directory.mkdir(mode=0o700, parents=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=devzuul throwaway CA",
    )
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    issued = {}
    for name in ("server", "client"):
        key, request, cert = (directory / f"{name}.{suffix}" for suffix in ("key", "csr", "crt"))
        _run(
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(request),
            "-subj",
            f"/CN=devzuul {name}",
        )
        _run(
            "openssl",
            "x509",
            "-req",
            "-in",
            str(request),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            "2",
            "-extfile",
            str(extensions),
        )
        issued[name] = (cert, key)
    server_pem = directory / "server.pem"
    server_pem.write_text(issued["server"][0].read_text() + issued["server"][1].read_text())
    return _Tls(ca, server_pem, *issued["client"])


def _ssh_key(directory: Path) -> Path:
    """Zuul's SSH key pair for Gerrit (RSA in PEM, which every paramiko reads); the private key."""
    directory.mkdir(mode=0o700, parents=True)
    key = directory / "id_rsa"
    _run(
        "ssh-keygen",
        "-q",
        "-t",
        "rsa",
        "-b",
        "3072",
        "-m",
        "PEM",
        "-N",
        "",
        "-C",
        "zuul",
        "-f",
        str(key),
    )
    return key


def _push_config_project(gerrit: devgerrit.GerritServer, workdir: Path) -> None:
    """Create the tenant's config project holding deploy/zuul/zuul.yaml."""
    gerrit.rest.create_project(CONFIG_PROJECT)
    clone = devgerrit.git_clone(
        gerrit.git_url(CONFIG_PROJECT), workdir / "config-project", gerrit.admin_auth
    )
    me = gerrit.rest.get("accounts/self")
    devgerrit.git_commit(
        clone,
        "Zuul's pipelines",
        {"zuul.yaml": ZUUL_YAML.read_text()},
        author=(me["name"], me["email"]),
    )
    devgerrit.git_push(
        clone, gerrit.git_url(CONFIG_PROJECT), *gerrit.admin_auth, "HEAD:refs/heads/master"
    )


@contextlib.contextmanager
def _zookeeper(workdir: Path, tls: _Tls) -> Iterator[int]:
    """A standalone ZooKeeper with only a TLS client port; its port once it listens."""
    port = devgerrit.free_port()
    data = workdir / "zookeeper"
    data.mkdir()
    config = workdir / "zoo.cfg"
    config.write_text(
        f"dataDir={data}\n"
        "tickTime=2000\n"
        f"secureClientPort={port}\n"
        "secureClientPortAddress=127.0.0.1\n"
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
        f"ssl.keyStore.location={tls.server}\n"
        "ssl.keyStore.type=PEM\n"
        f"ssl.trustStore.location={tls.ca}\n"
        "ssl.trustStore.type=PEM\n"
        "admin.enableServer=false\n"
    )
    command = [
        "java",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-cp",
        os.pathsep.join(ZOOKEEPER_CLASSPATH),
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        str(config),
    ]
    with _process(workdir, "zookeeper", command) as process:
        _wait_for_port(port, process, "ZooKeeper")
        yield port


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster on a loopback port; its URL for Zuul.

    PostgreSQL refuses to run as root, so under root the cluster belongs to Debian's
    ``postgres`` account, in a directory of its own outside the tests' (private) tmp dir.
    """
    binaries = Path(sorted(glob.glob(POSTGRES_BIN_GLOB))[-1])
    as_owner: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    directory = Path(tempfile.mkdtemp(prefix="devzuul-postgres-"))
    try:
        if as_owner:
            shutil.chown(directory, "postgres", "postgres")
        data = directory / "data"
        password = secrets.token_urlsafe(18)
        password_file = directory / "password"
        password_file.write_text(password + "\n")
        if as_owner:
            shutil.chown(password_file, "postgres", "postgres")
        _run(
            *as_owner,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "zuul",
            "-A",
            "scram-sha-256",
            "--pwfile",
            str(password_file),
            "-E",
            "UTF8",
        )
        port = devgerrit.free_port()
        log = directory / "postgres.log"
        _run(
            *as_owner,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={directory}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
        try:
            env = {**os.environ, "PGPASSWORD": password}
            subprocess.run(
                [
                    str(binaries / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "zuul",
                    "zuul",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            yield f"postgresql://zuul:{password}@127.0.0.1:{port}/zuul"
        finally:
            subprocess.run(
                [*as_owner, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_config(
    workdir: Path,
    gerrit: devgerrit.GerritServer,
    tls: _Tls,
    key: Path,
    http_password: str,
    zookeeper_port: int,
    database_url: str,
    project: str,
) -> Path:
    tenant = workdir / "main.yaml"
    tenant.write_text(
        json.dumps(
            [
                {
                    "tenant": {
                        "name": TENANT,
                        "source": {
                            "gerrit": {
                                "config-projects": [CONFIG_PROJECT],
                                "untrusted-projects": [project],
                            }
                        },
                    }
                }
            ],
            indent=2,
        )
        + "\n"
    )
    config = workdir / "zuul.conf"
    config.write_text(
        "[zookeeper]\n"
        f"hosts=127.0.0.1:{zookeeper_port}\n"
        f"tls_ca={tls.ca}\n"
        f"tls_cert={tls.client_cert}\n"
        f"tls_key={tls.client_key}\n"
        "\n[keystore]\n"
        f"password={secrets.token_urlsafe(18)}\n"
        "\n[database]\n"
        f"dburi={database_url}\n"
        "\n[scheduler]\n"
        f"tenant_config={tenant}\n"
        f"command_socket={workdir / 'scheduler.socket'}\n"
        f"git_dir={workdir / 'scheduler-git'}\n"
        f"pidfile={workdir / 'scheduler.pid'}\n"
        "\n[merger]\n"
        f"git_dir={workdir / 'merger-git'}\n"
        f"command_socket={workdir / 'merger.socket'}\n"
        f"pidfile={workdir / 'merger.pid'}\n"
        "git_user_email=zuul@example.org\n"
        "git_user_name=Zuul\n"
        '\n[connection "gerrit"]\n'
        "driver=gerrit\n"
        "server=127.0.0.1\n"
        f"port={gerrit.ssh_port}\n"
        f"baseurl={gerrit.url}\n"
        f"user={ACCOUNT}\n"
        f"sshkey={key}\n"
        f"password={http_password}\n"
        "auth_type=basic\n"
    )
    config.chmod(0o600)
    return config


@contextlib.contextmanager
def _daemon(workdir: Path, component: str, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    program = ZUUL_VENV / "bin" / f"zuul-{component}"
    with _process(workdir, component, [str(program), "-c", str(config), "-f", "-d"]) as process:
        yield process


@contextlib.contextmanager
def _process(workdir: Path, name: str, command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` with its output in logs/NAME.log; stop it (TERM, then KILL) after."""
    # Paramiko reads ~/.ssh/known_hosts; an empty HOME keeps the user's out of Zuul's way.
    env = {**os.environ, "HOME": str(workdir)}
    with (workdir / "logs" / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited during startup ({process.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port}")
        time.sleep(0.1)
