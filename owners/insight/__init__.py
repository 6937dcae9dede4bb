"""Questions about review load, answered from history and Gerrit with the engine's own rules."""
