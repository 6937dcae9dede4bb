"""Structured logs: one JSON object per line, naming the change, without secrets.

Log calls pass context with `extra=` (`project`, `change`, `job`, `verdict`, `attempt`...), and
`JsonFormatter` puts it next to the message.  The formatter also scrubs what must never be
written: the bot's password and the webhook token (and a Redis password) wherever they would
appear, and the token's place in request paths, which werkzeug's and gunicorn's request logs
print whole (`/gerrit/events/<token>`).
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import IO

FIELDS = ("project", "change", "event", "job", "verdict", "attempt", "worker", "status")
REDACTED = "<redacted>"
_TOKEN_PATH = re.compile(r"(/gerrit/events/)[^\s\"'?]*")
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        # Longest first, so that a secret containing another is scrubbed whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATH.sub(r"\1" + REDACTED, _COLOURS.sub("", text))

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = self.scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            data["error"] = self.scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(
    secrets: Iterable[str] = (), level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record of the process, as JSON lines, to stderr (or `stream`)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # huey logs every task at INFO; its warnings and errors are what an operator needs.
    logging.getLogger("huey").setLevel(logging.WARNING)
    # urllib3 warns of each connection retry; the failed call is logged once by the job.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return handler


def formatter_from_env() -> JsonFormatter:
    """The formatter for gunicorn's logconfig_dict, scrubbing the secrets of the settings in
    the environment (none when they do not parse: the app will say why it cannot start)."""
    from webhook.settings import Settings, SettingsError

    try:
        return JsonFormatter(Settings.from_env().secrets)
    except SettingsError:
        return JsonFormatter()
