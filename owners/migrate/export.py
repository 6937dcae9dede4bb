"""OWNERS.yaml to a CODEOWNERS file, for mirrors on GitHub or GitLab.

CODEOWNERS gives each file the owners of its last matching line and asks one of them to
approve, so each subsystem becomes lines listing its eligible approvers (own, then its
ancestors' unless `noparent`), written shallowest first so that deeper subsystems win.
What that cannot say is listed in the header, naming the subsystems affected.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from owners.engine import ROOT, Mode, Ownership
from owners.engine.model import GERRIT_PREFIX


def _owner(identity: str, org: str | None) -> str:
    if identity.startswith(GERRIT_PREFIX):
        team = re.sub(r"[^A-Za-z0-9_.-]+", "-", identity[len(GERRIT_PREFIX) :]).strip("-")
        return f"@{org or 'ORG'}/{team}"
    return identity if "@" in identity else f"@{identity}"


def _depth(ownership: Ownership, name: str) -> int:
    depth, parent = 0, ownership.config.subsystem(name).parent
    while parent is not None:
        depth, parent = depth + 1, ownership.config.subsystem(parent).parent
    return depth


def export_codeowners(
    ownership: Ownership, tree: Sequence[str] | None = None, org: str | None = None
) -> str:
    """The CODEOWNERS text; `tree` (the checkout's files) lets the header name the
    subsystems whose requirements add up on real files."""
    config = ownership.config
    caveats: list[str] = []

    def owners(name: str) -> str:
        return " ".join(_owner(i, org) for i in ownership.eligible(name))

    body = [f"* {owners(ROOT)}  # root"]
    ordered = sorted(config.subsystems, key=lambda s: _depth(ownership, s.name))
    for sub in ordered:
        if sub.mode is Mode.ADVISORY:
            caveats.append(f"'{sub.name}' is advisory: not written (it never blocks)")
            continue
        if sub.approvals > 1:
            caveats.append(f"'{sub.name}' needs {sub.approvals} approvals: CODEOWNERS asks for one")
        fallback = ownership.enforcer(sub.parent or ROOT)
        for rule in sub.paths:
            if rule.negated:
                body.append(f"{rule.glob} {owners(fallback)}  # excluded from {sub.name}")
                caveats.append(
                    f"'{sub.name}' excludes '{rule.glob}': written as a line for '{fallback}', "
                    "which a later line may override"
                )
            else:
                body.append(f"{rule.pattern} {owners(sub.name)}  # {sub.name}")
    if tree is not None:
        together: dict[tuple[str, ...], int] = {}
        for path in tree:
            names = tuple(
                n for n in ownership.requirements(path) if config.subsystem(n).mode is Mode.ENFORCE
            )
            if len(names) > 1:
                together[names] = together.get(names, 0) + 1
        for names, count in sorted(together.items()):
            caveats.append(
                f"{' and '.join(names)} must all approve {count} file(s); "
                "CODEOWNERS asks only the last matching line"
            )
    if any(o.startswith(GERRIT_PREFIX) for s in config.all_subsystems for o in s.owners) or any(
        m.startswith(GERRIT_PREFIX) for ms in config.groups.values() for m in ms
    ):
        caveats.append(
            f"Gerrit groups are written as teams of @{org or 'ORG'}"
            + ("" if org else " (pass --org)")
        )
    policy = config.policy
    caveats.append(
        f"vetoes ({policy.label} <= {policy.veto}"
        + (", root owners anywhere" if policy.root_veto else "")
        + "), and who counts ("
        + ("self-approval allowed" if policy.self_approval else "the author's own vote never")
        + ") are up to the forge's review rules"
    )
    header = [
        "# Generated from OWNERS.yaml by 'owners export --to codeowners'; edit OWNERS.yaml.",
        "# The last matching line wins and one listed owner's approval is enough, so this",
        "# file cannot express:",
        *(f"#  - {c}" for c in caveats),
        "",
    ]
    return "\n".join(header + body) + "\n"
