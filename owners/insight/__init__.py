"""Analyses of review data from Gerrit, computed with the engine (no I/O)."""
