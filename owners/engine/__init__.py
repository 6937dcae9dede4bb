"""The ownership engine: pure functions from OWNERS.yaml and a change to a verdict.

Nothing in this package performs I/O; callers pass bytes in and get typed values out.
Reading OWNERS.yaml (`owners.engine.config`, and with it PyYAML) is imported on first use:
a command answering from a compiled map never parses YAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from owners.engine.evaluation import evaluate
from owners.engine.model import (
    CONFIG_PATH,
    ROOT,
    Account,
    Change,
    ChangedFile,
    Diagnostic,
    Evaluation,
    Location,
    Mode,
    OwnersConfig,
    Policy,
    RequirementResult,
    Severity,
    Subsystem,
    Verdict,
    Vote,
)
from owners.engine.resolution import GroupResolver, Ownership

if TYPE_CHECKING:
    from owners.engine.config import ConfigError, load_config, parse_config, tree_warnings

_FROM_CONFIG = ("ConfigError", "load_config", "parse_config", "tree_warnings")


def __getattr__(name: str) -> Any:
    if name in _FROM_CONFIG:
        return getattr(importlib.import_module("owners.engine.config"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONFIG_PATH",
    "ROOT",
    "Account",
    "Change",
    "ChangedFile",
    "ConfigError",
    "Diagnostic",
    "Evaluation",
    "GroupResolver",
    "Location",
    "Mode",
    "OwnersConfig",
    "Ownership",
    "Policy",
    "RequirementResult",
    "Severity",
    "Subsystem",
    "Verdict",
    "Vote",
    "evaluate",
    "load_config",
    "parse_config",
    "tree_warnings",
]
