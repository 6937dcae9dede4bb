"""Structured logs: one JSON object per line, naming the change, without secrets.

Log calls pass context with `extra=` (`project`, `change`, `job`, `verdict`, `attempt`...), and
`JsonFormatter` puts it next to the message.  The formatter also scrubs what must never be
written, where secrets travel: the value of an Authorization header, the password of a URL's
userinfo (`redis://:pw@host`), the value of a password, token or secret field
(`password='...'`, `OWNERS_GERRIT_PASSWORD=...`), and the token's place in request paths,
which werkzeug's and gunicorn's request logs print whole (`/gerrit/events/<token>`).  A
secret's text is replaced anywhere only when it is long enough never to be a piece of a path
or a word (the webhook token's minimum, 16 characters): a short password scrubbed as text
would mangle every path and URL that happens to contain it.
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
LITERAL_MIN_LENGTH = 16  # a secret at least this long is scrubbed wherever its text appears
_TOKEN_PATH = re.compile(r"(/gerrit/events/)[^\s\"'?]*")
# `Authorization: Basic xyz`, `'Authorization': 'Bearer xyz'`: the scheme stays
_AUTHORIZATION = re.compile(
    r"(?i)(\bauthorization['\"]?\s*[:=]\s*['\"]?(?:(?:basic|bearer|digest|token)\s+)?)"
    r"[^\s'\",}]+"
)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(@)", re.IGNORECASE)
# password=..., "password": "...", webhook_token='...', OWNERS_GERRIT_PASSWORD=...
_SECRET_FIELD = re.compile(
    r"(?i)(\b\w*(?:password|passwd|token|secret)['\"]?\s*[=:]\s*['\"]?)[^\s'\",}&]+"
)
_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        # Longest first, so that a secret containing another is scrubbed whole.
        self.secrets = sorted(
            {s for s in secrets if len(s) >= LITERAL_MIN_LENGTH}, key=len, reverse=True
        )

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _AUTHORIZATION.sub(r"\1" + REDACTED, _COLOURS.sub("", text))
        text = _URL_PASSWORD.sub(r"\1" + REDACTED + r"\2", text)
        text = _SECRET_FIELD.sub(r"\1" + REDACTED, text)
        return _TOKEN_PATH.sub(r"\1" + REDACTED, text)

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
    from owners.gerrit.settings import SettingsError
    from webhook.settings import ServiceSettings

    try:
        return JsonFormatter(ServiceSettings.from_env().secrets)
    except SettingsError:
        return JsonFormatter()
