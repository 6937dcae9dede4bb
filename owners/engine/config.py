"""Reading OWNERS.yaml: from bytes to a validated `OwnersConfig`, or to located diagnostics.

The entry point for every caller; the work is done by role: `owners.engine.safeyaml` reads
the untrusted YAML into located nodes, `owners.engine.reader` reads the schema from them
(with `owners.engine.includes` for the files `include:` names), and
`owners.engine.validation` checks what needs the whole file.  The format's limits and names
that other modules use are exported here too.
"""

from __future__ import annotations

from owners.engine.directory import Lookup, remembered
from owners.engine.includes import Read
from owners.engine.model import CONFIG_PATH, Diagnostic, OwnersConfig, Severity, gc_paused
from owners.engine.reader import (
    CHOICES,
    LABEL_NAME,
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_SUBSYSTEMS,
    SUPPORTED_VERSION,
    Reader,
)
from owners.engine.safeyaml import MAX_BYTES

__all__ = [
    "CHOICES",
    "LABEL_NAME",
    "MAX_BYTES",
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "MAX_SUBSYSTEMS",
    "SUPPORTED_VERSION",
    "ConfigError",
    "load_config",
    "parse_config",
]


class ConfigError(ValueError):
    """An OWNERS.yaml that cannot be used; carries every diagnostic, errors and warnings."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        super().__init__("\n".join(str(d) for d in errors))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def load_config(
    data: bytes | str, filename: str = CONFIG_PATH, *, read: Read | None = None
) -> OwnersConfig:
    """Parse and validate; raise `ConfigError` on any error (warnings alone do not raise)."""
    config, diagnostics = parse_config(data, filename, read=read)
    if config is None:
        raise ConfigError(diagnostics)
    return config


def parse_config(
    data: bytes | str,
    filename: str = CONFIG_PATH,
    directory: Lookup | None = None,
    *,
    read: Read | None = None,
) -> tuple[OwnersConfig | None, list[Diagnostic]]:
    """Parse and validate; the config is None when any diagnostic is an error.

    With a `directory` (a lookup of accounts and groups, see `owners.engine.directory`) the
    names are also checked against it, and feasibility counts the accounts and group members
    that exist: only Gerrit can tell a mistyped alias from a username.  `read` gives the
    files `include:` names (without it, a file with includes is an error).
    """
    reader = Reader(
        filename, directory=remembered(directory) if directory else None, read_file=read
    )
    with gc_paused():
        config = reader.read(data)
    diagnostics = sorted(reader.diagnostics, key=lambda d: (d.location, d.message))
    if any(d.severity is Severity.ERROR for d in diagnostics):
        return None, diagnostics
    return config, diagnostics
