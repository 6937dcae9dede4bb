"""The bot's status comment, rendered from an `Outcome` and kept apart from deciding it.

The comment ends with a fingerprint of the verdict and its reasons.  The service compares it
with the fingerprint of its last comment and posts again only when it differs, so a replayed
event, or a new patch set that changes nothing, adds no noise.  Suggested reviewers are shown
but not fingerprinted: they are advice, not a reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from owners.engine import Mode, RequirementResult, Verdict
from owners.wording import plural, requirement_name, requirement_state

if TYPE_CHECKING:
    from owners.gerrit.verdict import Outcome

FINGERPRINT_PREFIX = "owners-fingerprint:"
_FINGERPRINT_RE = re.compile(re.escape(FINGERPRINT_PREFIX) + r" ([0-9a-f]{12})\b")

_HEADLINES = {
    Verdict.APPROVED: "Owners: APPROVED",
    Verdict.PENDING: "Owners: PENDING",
    Verdict.BLOCKED: "Owners: BLOCKED",
}


def fingerprint(outcome: Outcome) -> str:
    """A stable digest of the verdict and its reasons (not of advice such as suggestions)."""
    reasons = {
        "v": 1,
        "verdict": outcome.verdict.value,
        "fallback": outcome.fallback,
        "fallback_owners": list(outcome.fallback_owners),
        "config_problems": list(outcome.config_problems),
        "proposal_problems": list(outcome.proposal_problems),
        "notes": list(outcome.notes),
        "unresolved": sorted(outcome.unresolved_groups),
        "requirements": [
            [
                r.subsystem,
                r.mode.value,
                r.missing,
                sorted(r.approved_by),
                sorted(r.vetoed_by),
            ]
            for r in outcome.evaluation.requirements
        ],
    }
    # Keys of the opt-in features only when they apply: an existing change keeps its digest.
    if outcome.overridden_by:
        reasons["override"] = [sorted(outcome.overridden_by), list(outcome.unmet)]
    if outcome.evaluation.waived:
        reasons["waived"] = outcome.evaluation.waived
    text = json.dumps(reasons, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def find_fingerprint(message: str) -> str | None:
    """The last fingerprint in a change message, if it has one."""
    found = _FINGERPRINT_RE.findall(message)
    return found[-1] if found else None


def render(outcome: Outcome, digest: str | None = None, link: str | None = None) -> str:
    """One short comment: the verdict, each requirement, what is wrong and whom to ask;
    `link` (the change's web page) is advice like the suggestions, so not fingerprinted."""
    requirements = outcome.evaluation.requirements
    blocks = [_headline(outcome)]
    if outcome.fallback:
        blocks.append(_fallback(outcome))
    if outcome.proposal_problems:
        proposal = _bullets(outcome.proposal_problems)
        blocks.append(f"The OWNERS.yaml proposed by this change:\n{proposal}")
    if requirements:
        blocks.append(_bullets(_requirement(r) for r in requirements))
    if outcome.unresolved_groups:
        blocks.append(
            "Could not read the members of "
            + ", ".join(outcome.unresolved_groups)
            + ", so their votes do not count."
        )
    if outcome.evaluation.waived:
        blocks.append(
            f"No owner approval is needed: {outcome.evaluation.waived} (vetoes still block)."
        )
    if outcome.overridden_by:
        blocks.append(override_line(outcome))
    blocks.extend(outcome.notes)
    suggested = outcome.evaluation.suggested_reviewers
    if suggested and outcome.verdict is not Verdict.APPROVED:
        blocks.append("Suggested reviewers: " + ", ".join(suggested))
    if link:
        blocks.append(f"Details: {link}")
    blocks.append(f"{FINGERPRINT_PREFIX} {digest or fingerprint(outcome)}")
    return "\n\n".join(blocks)


OVERRIDE_PREFIX = "Overridden with "


def override_line(outcome: Outcome) -> str:
    """Who broke the glass and what they bypassed, as `owners report` finds it again."""
    unmet = ", ".join(outcome.unmet) or "none"
    return (
        f"{OVERRIDE_PREFIX}{outcome.override_label}+1 by {', '.join(outcome.overridden_by)}; "
        f"requirements unmet: {unmet}."
    )


def _headline(outcome: Outcome) -> str:
    enforced = [r for r in outcome.evaluation.requirements if r.mode is Mode.ENFORCE]
    head = _HEADLINES[outcome.verdict]
    if outcome.verdict is Verdict.APPROVED:
        return f"{head}: every owning subsystem approved."
    if outcome.verdict is Verdict.PENDING:
        waiting = sum(1 for r in enforced if not r.met)
        total = len(enforced)
        return f"{head}: {waiting} of {total} {plural(total, 'requirement')} not yet met."
    if outcome.proposal_invalid:
        return f"{head}: the OWNERS.yaml proposed by this change is invalid."
    if outcome.unanchored:
        return f"{head}: it is not based on {outcome.branch}."
    vetoes = outcome.evaluation.vetoed_by
    if vetoes:
        return f"{head}: vetoed by {', '.join(vetoes)}."
    return f"{head}: no one may approve this change."


def _fallback(outcome: Outcome) -> str:
    reason = outcome.fallback or ""
    reason = reason[:1].upper() + reason[1:]
    if outcome.fallback_owners:
        owners = ", ".join(outcome.fallback_owners)
        text = f"{reason}, so the fallback owners ({owners}) must approve every file."
    else:
        text = (
            f"{reason} and no fallback owners are configured (OWNERS_FALLBACK_OWNERS), "
            "so nobody can approve this change."
        )
    if outcome.config_problems:
        text = text[:-1] + ":\n" + _bullets(outcome.config_problems)
    return text


def _requirement(result: RequirementResult) -> str:
    mark = "✔" if result.met and not result.vetoed_by else "✘"
    return f"{mark} {requirement_name(result)}: {requirement_state(result)}"


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"* {line}" for line in lines)
