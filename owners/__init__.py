"""gerrit-owners: path-based subsystem ownership for Gerrit."""

__version__ = "0.1.0"  # the one place the version is written (pyproject reads it)
