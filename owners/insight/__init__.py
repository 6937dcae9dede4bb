"""Questions about review load, answered from git history and from Gerrit with the engine's
own rules (no I/O here: callers pass histories in)."""
