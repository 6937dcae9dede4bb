"""The ownership engine: pure functions from OWNERS.yaml and a change to a verdict.

Nothing in this package performs I/O; callers pass bytes in and get typed values out.
"""

from owners.engine.config import ConfigError, load_config, parse_config, tree_warnings
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
