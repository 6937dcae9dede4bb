"""The ownership engine: pure functions from OWNERS.yaml and a change to a verdict.

Nothing in this package performs I/O; callers pass bytes in and get typed values out.
Each name is imported from its module on first use, so that a command pays only for what
it touches: `owners who` answering from a compiled map never imports the evaluation, the
reviewer suggestion, the validation or the YAML reader (`owners.engine.config`, and with it
PyYAML).
"""

# ruff: noqa: F401  (the imports under TYPE_CHECKING are for type checkers only)

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports each
    from owners.engine.change import (
        Account,
        Change,
        ChangedFile,
        Evaluation,
        RequirementResult,
        Verdict,
        Vote,
    )
    from owners.engine.config import ConfigError, load_config, parse_config
    from owners.engine.evaluation import evaluate
    from owners.engine.model import (
        CONFIG_PATH,
        ROOT,
        Diagnostic,
        Location,
        Mode,
        OwnersConfig,
        Policy,
        Severity,
        Subsystem,
    )
    from owners.engine.resolution import GroupResolver, Ownership
    from owners.engine.validation import tree_warnings

_MODULES = {
    "change": (
        "Account", "Change", "ChangedFile", "Evaluation", "RequirementResult", "Verdict", "Vote",
    ),
    "config": ("ConfigError", "load_config", "parse_config"),
    "evaluation": ("evaluate",),
    "model": (
        "CONFIG_PATH", "ROOT", "Diagnostic", "Location", "Mode", "OwnersConfig", "Policy",
        "Severity", "Subsystem",
    ),
    "resolution": ("GroupResolver", "Ownership"),
    "validation": ("tree_warnings",),
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once: later lookups skip this function
    return value


__all__ = sorted(_MODULE_OF)
