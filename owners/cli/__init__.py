"""The `owners` command: ask who must review what, check a change, validate the file, and
run the service.

Checkout commands live in `local`, the commands about a change (check, suggest) in `change`,
service commands in `service`, what they share in `base`; `render` holds the stable JSON
shapes and the text.  Errors are one line on stderr.  A command's module is imported only
when it runs (`base.COMMANDS`), to start quickly.
"""

from owners.cli.base import cli, main

__all__ = ["cli", "main"]
