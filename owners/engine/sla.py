"""Review SLAs (`policy.review_sla`): how long a change may wait for a first review by an
eligible owner, per subsystem.

The key is a comma-separated list of durations, each for every subsystem or, as
`NAME=DURATION`, for one (`none` turns it off there): `"3bd"`, or `"5bd, hyperv=2bd,
xenapi=none"`.  A duration is `Nh` (hours), `Nd` (calendar days) or `Nbd` (business days,
Monday to Friday in UTC, no holidays).  Read by `owners.engine.reader` (a wrong value is an
error of the file), used by `owners.engine.escalation` and the review report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_DURATION = re.compile(r"(\d{1,4})(h|d|bd)\Z")
_ENTRY = re.compile(r"(?:([A-Za-z0-9._+-]+)=)?(\S+)\Z")
_ENTRY_PATTERN = r"([A-Za-z0-9._+-]+=)?([0-9]{1,4}(h|d|bd)|none)"
SLA_PATTERN = rf"^\s*({_ENTRY_PATTERN}(\s*,\s*{_ENTRY_PATTERN})*)?\s*$"
"""What a `review_sla` looks like, for the JSON Schema (the reader also refuses a zero
duration, a name given twice and `none` without a name)."""
EVERY = ""
"""The key of the duration that applies to every subsystem not named."""


class SlaError(ValueError):
    """A `review_sla` that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class Sla:
    """A time allowed for a first review."""

    amount: int
    unit: str  # h, d or bd

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def shortest(self) -> timedelta:
        """The least time it ever allows (business days without a weekend between)."""
        return timedelta(hours=self.amount) if self.unit == "h" else timedelta(days=self.amount)

    def deadline(self, start: datetime) -> datetime:
        """When a wait that began at `start` (aware, UTC) exceeds this SLA.  Business days
        skip Saturdays and Sundays: a change uploaded on Friday with `1bd` is late on Monday
        at the same time; one uploaded on a weekend starts counting on Monday at 00:00."""
        if self.unit == "h":
            return start + timedelta(hours=self.amount)
        if self.unit == "d":
            return start + timedelta(days=self.amount)
        when = start
        while when.weekday() >= 5:
            when = (when + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        left = self.amount
        while left:
            when += timedelta(days=1)
            if when.weekday() < 5:
                left -= 1
        return when


def parse_review_sla(text: str) -> dict[str, Sla | None]:
    """The durations of a `review_sla`, by subsystem name (`EVERY` for the rest); raise
    `SlaError` naming the first entry that is not `[NAME=]DURATION` or `NAME=none`."""
    found: dict[str, Sla | None] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if not match:
            raise SlaError(f"'{entry}' is not [SUBSYSTEM=]DURATION")
        name, value = match.group(1) or EVERY, match.group(2)
        if name in found:
            raise SlaError(f"'{name or 'the default'}' is given twice")
        if value == "none" and name != EVERY:
            found[name] = None
            continue
        duration = _DURATION.match(value)
        if not duration or int(duration.group(1)) == 0:
            raise SlaError(f"'{value}' is not a duration such as 12h, 3d or 2bd")
        found[name] = Sla(int(duration.group(1)), duration.group(2))
    return found


def review_sla(text: str, subsystem: str) -> Sla | None:
    """The SLA of `subsystem` under a policy's `review_sla` (None: no SLA)."""
    if not text:
        return None
    durations = parse_review_sla(text)
    return durations[subsystem] if subsystem in durations else durations.get(EVERY)
