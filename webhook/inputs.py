"""A change's *inputs*: a digest of everything its verdict depends on, so that a verdict whose
inputs did not move need not be computed again.

The inputs are the change's current revision, every vote on it and whether its voter is
active (the policy label's and the bot's own among them), its work-in-progress and private
flags, its branch's OWNERS.yaml with the files it includes, and the members of every Gerrit
group that file (or the fallback owners) names.  Each evaluation records the inputs it judged
(`webhook.jobs`), and the reconciler's sweep (`webhook.reconcile`) computes them from a change
query: a change whose inputs equal the recorded ones is skipped.

The digest errs towards "changed": a change is skipped only when the same function, over the
same fields, gave the same digest.  Group members are those the evaluation used, read before
it: a member removed meanwhile makes the sweep's fresh read differ, never match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from owners.gerrit.model import BranchConfig, UnexpectedResponse
from owners.gerrit.verdict import CompileMap
from webhook.groups import named_groups

Members = Callable[[str], "tuple[str, ...] | None"]


@dataclass(frozen=True)
class Posted:
    """The vote the bot just posted on `label`, as `account_id` (None while unknown)."""

    label: str
    vote: int
    user: str
    account_id: int | None


def change_inputs(info: dict[str, Any], branch: str, posted: Posted | None = None) -> str:
    """The digest of a change's inputs, from a ChangeInfo read with at least
    `CURRENT_REVISION`, `DETAILED_LABELS` and `DETAILED_ACCOUNTS` (only with the last does
    Gerrit mark a voter `"inactive": true`) and its branch's digest (`branch_inputs`).

    With `posted`, the bot's own vote in `info` is replaced by the one it just posted, so that
    the next sweep finds the inputs as the bot left them, not as it read them.
    """
    try:
        labels = {
            name: sorted(
                # a deactivated voter's vote stops counting: a lost account event
                [vote.get("_account_id"), vote.get("value"), bool(vote.get("inactive"))]
                for vote in _votes(name, detail, posted)
                if vote.get("value")
            )
            for name, detail in sorted((info.get("labels") or {}).items())
        }
        revision = info["current_revision"]
    except (KeyError, TypeError, AttributeError):
        raise UnexpectedResponse("a change answer lacks its revision or votes") from None
    facts = [
        revision,
        labels,
        bool(info.get("work_in_progress")),
        bool(info.get("is_private")),
        branch,
    ]
    return digest(facts)


def _votes(name: str, detail: dict[str, Any], posted: Posted | None) -> list[dict[str, Any]]:
    """The votes on label `name`, the bot's replaced by the one it just posted (left as read
    while its account ID is unknown: the next sweep then looks once more)."""
    votes = list(detail.get("all") or ())
    if posted is None or posted.label != name:
        return votes
    others = [v for v in votes if v.get("username") != posted.user]
    if posted.account_id is None:
        return votes
    return [*others, {"_account_id": posted.account_id, "value": posted.vote}]


def account_id_of(info: dict[str, Any], user: str) -> int | None:
    """The account ID of `user` if a vote or a message of the ChangeInfo shows it."""
    people = [v for d in (info.get("labels") or {}).values() for v in d.get("all") or ()]
    people += [m.get("author") or {} for m in info.get("messages") or ()]
    found = (p.get("_account_id") for p in people if p.get("username") == user)
    return next((i for i in found if isinstance(i, int)), None)


def branch_inputs(
    config: BranchConfig,
    fallback_owners: tuple[str, ...],
    members: Members,
    compile_map: CompileMap | None = None,
) -> str:
    """The digest of a branch's OWNERS.yaml, the files it includes and the members of the
    groups it (or the fallback owners) names, each read through `members`."""
    groups = []
    for name in named_groups(config.content, fallback_owners, config.included, compile_map):
        found = members(name)
        groups.append([name, digest(sorted(found) if found is not None else None)])
    content = None if config.content is None else hashlib.sha256(config.content).hexdigest()
    if config.included:  # delegated files: a change to one re-decides the branch's changes
        content = digest([content, [[p, (d or b"").hex()] for p, d in config.included]])
    return digest([content, groups])


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
