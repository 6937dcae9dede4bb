"""The `owners` command: ask who must review what, check a change, validate the file, and
run the service.

Checkout commands live in `local`, service commands in `service`, what they share in `base`;
`render` holds the stable JSON shapes and the text.  Errors are one line on stderr.
"""

from owners.cli import audit, history, local, migrate, report, service
from owners.cli.base import cli, main

__all__ = ["audit", "cli", "history", "local", "main", "migrate", "report", "service"]
