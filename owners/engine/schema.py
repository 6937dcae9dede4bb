"""A JSON Schema of OWNERS.yaml, for editors: `owners schema` prints it and
docs/owners.schema.json keeps a copy (a test holds the two equal).

With the YAML language server (VS Code's YAML extension, Neovim, Helix...) and a first line
`# yaml-language-server: $schema=<URL of owners.schema.json>`, an editor completes keys,
shows these descriptions on hover and underlines wrong types as they are typed.  It catches
only what a schema can express; `owners validate` stays the judge (references, cycles,
feasibility, patterns, locations).  Draft-07, the newest draft editors support fully.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from owners.engine.config import LABEL_NAME, MAX_PATTERN_LENGTH, SUPPORTED_VERSION
from owners.engine.model import Policy
from owners.engine.sla import SLA_PATTERN

_OWNER = {
    "type": "string",
    "minLength": 1,
    # a username or email (no spaces), user:<username>, or gerrit:<Group Name>
    "pattern": r"^(gerrit:.*\S.*|user:\S+|\S+)$",
    "description": (
        "Who may approve: an alias defined under `groups`; a username, exactly as in Gerrit "
        "(`user:NAME` even when an alias has that name); an email, which must be exactly "
        "the account's preferred email in Gerrit, case included; or `gerrit:<Group Name>`, "
        "every member of that Gerrit group."
    ),
}
_OWNERS = {
    "type": "array",
    "minItems": 1,
    "items": _OWNER,
    "description": "Owner entries: aliases, usernames, emails or gerrit:<Group Name>.",
}
_APPROVALS = {
    "type": "integer",
    "minimum": 1,
    "default": 1,
    "description": "How many distinct eligible approvers must approve (default 1).",
}


def owners_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict; every key carries a description for hover docs."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "OWNERS.yaml",
        "description": (
            "Path-based subsystem ownership for Gerrit (gerrit-owners): which subsystems own "
            "which paths, who may approve changes there and how many approvals each needs. "
            "Check it with `owners validate`."
        ),
        "type": "object",
        "required": ["version", "root"],
        "additionalProperties": False,
        "properties": {
            "version": {
                "const": SUPPORTED_VERSION,
                "description": f"The format version; this tool reads {SUPPORTED_VERSION}.",
            },
            "policy": {
                "type": "object",
                "additionalProperties": False,
                "description": "How votes count; every key is optional.",
                "properties": _policy_properties(),
            },
            "include": {
                "type": "array",
                "description": (
                    "Delegated ownership files (e.g. nova/virt/hyperv/OWNERS.yaml): each may "
                    "define groups and subsystems inside its own directory only, and is owned "
                    "by that directory's subsystem."
                ),
                "items": {"type": "string", "minLength": 1},
            },
            "groups": {
                "type": "object",
                "description": (
                    "Aliases: a name for a list of owner entries (usernames, emails, other "
                    "aliases, gerrit:<Group Name>), usable wherever owners are listed."
                ),
                "additionalProperties": {**_OWNERS, "description": "The members of the alias."},
            },
            "root": {
                "type": "object",
                "required": ["owners"],
                "additionalProperties": False,
                "description": (
                    "Owns every path no subsystem claims, and OWNERS.yaml itself; its owners "
                    "may approve anywhere unless a subsystem has noparent."
                ),
                "properties": {
                    "owners": {**_OWNERS, "description": "The core team."},
                    "approvals": _APPROVALS,
                    "description": {"type": "string", "description": "What root stands for."},
                },
            },
            "subsystems": {
                "type": "array",
                "description": "The subsystems, each owning its paths; their order never matters.",
                "items": {
                    "type": "object",
                    "required": ["name", "paths", "owners"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {
                            "type": "string",
                            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._+-]*$",
                            "not": {"const": "root"},
                            "description": (
                                "A unique name: letters, digits, '.', '_', '+' and '-' "
                                "('root' is reserved)."
                            ),
                        },
                        "description": {
                            "type": "string",
                            "description": "What the subsystem is, for people reading reports.",
                        },
                        "paths": {
                            "type": "array",
                            "minItems": 1,
                            "description": (
                                "gitignore-style patterns with CODEOWNERS' rules, in order; a "
                                "leading ! excludes. Quote patterns that start with ! or *."
                            ),
                            "items": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_PATTERN_LENGTH,
                                "description": (
                                    "A pattern: a leading / or one in the middle anchors it "
                                    "at the root, a trailing / means a directory, *, ** and ? "
                                    "match, ! at the start excludes."
                                ),
                            },
                        },
                        "owners": _OWNERS,
                        "approvals": _APPROVALS,
                        "parent": {
                            "type": "string",
                            "default": "root",
                            "description": (
                                "The subsystem above this one (default root); its owners may "
                                "approve here too, unless noparent."
                            ),
                        },
                        "noparent": {
                            "type": "boolean",
                            "default": False,
                            "description": (
                                "true: the ancestors' owners may not approve here (root may "
                                "still veto, with root_veto)."
                            ),
                        },
                        "mode": {
                            "enum": ["enforce", "advisory"],
                            "default": "enforce",
                            "description": (
                                "enforce (default), or advisory: reported, never blocks; its "
                                "files are enforced by its nearest enforcing ancestor."
                            ),
                        },
                    },
                },
            },
        },
    }


# What a schema can say of a policy key beyond its type, choices and default.
_POLICY_LIMITS: dict[str, dict[str, Any]] = {
    "label": {"pattern": LABEL_NAME.pattern.removesuffix(r"\Z") + "$"},
    "approve": {"minimum": 1},
    "veto": {"maximum": -1},
    "review_sla": {"pattern": SLA_PATTERN},
}


def _policy_properties() -> dict[str, Any]:
    """Each key `Policy` declares (`policy_key`), with its doc, type or choices and default."""
    properties = {}
    for key in fields(Policy):
        doc, choices, default = key.metadata["doc"], key.metadata["choices"], key.default
        if isinstance(default, tuple):  # owners entries
            properties[key.name] = {**_OWNERS, "description": doc}
            continue
        shown = str(default).lower() if isinstance(default, bool) else default or "empty"
        kind = {bool: "boolean", int: "integer", str: "string"}[type(default)]
        properties[key.name] = {
            **({"enum": list(choices)} if choices else {"type": kind}),
            **_POLICY_LIMITS.get(key.name, {}),
            "default": default,
            "description": f"{doc.removesuffix('.')} (default {shown}).",
        }
    return properties
