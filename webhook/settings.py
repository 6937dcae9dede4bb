"""The service's own settings on top of the site's (`owners.gerrit.settings`): the queue of
jobs and its workers, read from `OWNERS_*` variables the same way.

A Redis URL's password is a secret: kept out of `repr`, logs and every error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from owners.gerrit.settings import Settings, SettingsError, setting, whole_number

DEFAULT_QUEUE_FILE = "owners-queue.db"
DEFAULT_RECONCILE_SECONDS = 600.0
DEFAULT_WORKERS = 4
DEFAULT_JOB_ATTEMPTS = 10
DEFAULT_RETRY_MAX_DELAY = 300.0
DEFAULT_GERRIT_CONCURRENCY = 8
DEFAULT_MAP_CACHE = 32
DEFAULT_FILE_CACHE = 256
MEMORY_QUEUE = ""  # no queue: jobs run at once, in the thread that submits them (tests)
REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class ServiceSettings(Settings):
    # Where jobs wait: a SQLite file, or a redis:// URL (which may hold a password: no repr).
    # Built in code without it, the settings run every job at once (see `webhook.jobs`).
    queue: str = field(default=MEMORY_QUEUE, repr=False)
    reconcile_interval: float = 0.0  # seconds between sweeps; 0: never (from_env: 600)
    workers: int = DEFAULT_WORKERS  # worker threads per process
    job_attempts: int = DEFAULT_JOB_ATTEMPTS  # tries before a job becomes a dead letter
    retry_max_delay: float = DEFAULT_RETRY_MAX_DELAY  # cap of the exponential backoff
    # REST calls to Gerrit in flight at once per process (fan-outs judge in parallel); 0: any
    gerrit_concurrency: int = DEFAULT_GERRIT_CONCURRENCY
    map_cache: int = DEFAULT_MAP_CACHE  # compiled OWNERS.yaml maps kept per process
    file_cache: int = DEFAULT_FILE_CACHE  # OWNERS.yaml files (and includes) kept, by commit

    @classmethod
    def read_env(cls, env: Mapping[str, str]) -> dict[str, Any]:
        site = super().read_env(env)

        def get(name: str) -> str:
            return setting(env, name)

        return dict(
            site,
            queue=_queue(get("QUEUE")),
            reconcile_interval=_seconds(
                "OWNERS_RECONCILE_INTERVAL", get("RECONCILE_INTERVAL"), DEFAULT_RECONCILE_SECONDS
            ),
            workers=whole_number("OWNERS_WORKERS", get("WORKERS"), DEFAULT_WORKERS),
            job_attempts=max(
                1, whole_number("OWNERS_JOB_ATTEMPTS", get("JOB_ATTEMPTS"), DEFAULT_JOB_ATTEMPTS)
            ),
            retry_max_delay=_seconds(
                "OWNERS_RETRY_MAX_DELAY", get("RETRY_MAX_DELAY"), DEFAULT_RETRY_MAX_DELAY
            ),
            gerrit_concurrency=whole_number(
                "OWNERS_GERRIT_CONCURRENCY", get("GERRIT_CONCURRENCY"), DEFAULT_GERRIT_CONCURRENCY
            ),
            map_cache=max(1, whole_number("OWNERS_MAP_CACHE", get("MAP_CACHE"), DEFAULT_MAP_CACHE)),
            file_cache=max(
                1, whole_number("OWNERS_FILE_CACHE", get("FILE_CACHE"), DEFAULT_FILE_CACHE)
            ),
        )

    @property
    def uses_redis(self) -> bool:
        return urlsplit(self.queue).scheme in REDIS_SCHEMES

    @property
    def queue_display(self) -> str:
        """The queue as it may be logged: a Redis URL without its password."""
        if not self.uses_redis:
            return self.queue or "memory (jobs run at once)"
        parts = urlsplit(self.queue)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never reach a log line, an error or a metric."""
        found = list(super().secrets)
        if self.uses_redis and urlsplit(self.queue).password:
            found.append(urlsplit(self.queue).password or "")
        return tuple(s for s in found if s)


def _queue(value: str) -> str:
    """A redis:// URL as given, or a SQLite file made absolute (default: one in the working
    folder), whose folder must exist."""
    if urlsplit(value).scheme in REDIS_SCHEMES:
        parts = urlsplit(value)
        if parts.scheme != "unix" and not parts.hostname:
            raise SettingsError("OWNERS_QUEUE: a redis:// URL needs a host")
        return value
    if "://" in value:
        raise SettingsError("OWNERS_QUEUE must be a file path or a redis:// URL")
    path = Path(value or DEFAULT_QUEUE_FILE).expanduser().absolute()
    if not path.parent.is_dir():
        raise SettingsError(f"OWNERS_QUEUE: folder {path.parent} does not exist")
    if path.is_dir():
        raise SettingsError(f"OWNERS_QUEUE: {path} is a folder; name a file")
    return str(path)


def _seconds(name: str, value: str, default: float) -> float:
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10**7:
        raise SettingsError(f"{name} must be a number of seconds, not '{value}'")
    return seconds
