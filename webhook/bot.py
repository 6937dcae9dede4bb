"""What the bot posts on a change: only what differs from what it already said.

`plan` compares the owners' `Outcome` (`owners.gerrit.verdict.assess`) with the bot's past
messages, vote and hashtags on the change and returns a `Report` holding only what must
change: the vote, a new status comment (`webhook.report` words it), reviewers to add, the
`owners-needs-<subsystem>` hashtags the dashboards read.  Replaying an event therefore changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from owners.engine import Verdict
from owners.gerrit.model import BOT_TAG, ChangeSnapshot
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import NEEDS_HASHTAG, Outcome
from webhook import report


@dataclass(frozen=True)
class Report:
    """What the bot must post on a change; all empty when it already said all of it."""

    outcome: Outcome
    vote: int | None  # None: leave the bot's vote as it is
    message: str | None  # None: the last status comment still holds
    reviewers: tuple[str, ...] = ()
    add_hashtags: tuple[str, ...] = ()
    remove_hashtags: tuple[str, ...] = ()

    @property
    def has_review(self) -> bool:
        """A vote, a comment or reviewers to post: one review."""
        return self.vote is not None or self.message is not None or bool(self.reviewers)

    @property
    def has_hashtags(self) -> bool:
        return bool(self.add_hashtags or self.remove_hashtags)

    @property
    def empty(self) -> bool:
        return not self.has_review and not self.has_hashtags


def plan(snapshot: ChangeSnapshot, outcome: Outcome, settings: Settings) -> Report:
    """Only what differs from what the bot already said on the change."""
    vote: int | None = outcome.vote
    if (
        settings.label not in snapshot.labels
        or snapshot.vote_of(settings.label, settings.user) == outcome.vote
    ):
        vote = None  # the label is not configured here, or the bot already votes so
    fingerprint = report.fingerprint(outcome)
    message = None
    if last_fingerprint(snapshot, settings.user) != fingerprint:
        link = f"{settings.public_url}/c/{snapshot.number}" if settings.public_url else None
        message = report.render(outcome, fingerprint, link)
    wanted = outcome.needs_hashtags
    marked = {tag for tag in snapshot.hashtags if tag.startswith(NEEDS_HASHTAG)}
    return Report(
        outcome,
        vote,
        message,
        reviewers_to_add(snapshot, outcome, settings),
        add_hashtags=tuple(sorted(wanted - marked)),
        remove_hashtags=tuple(sorted(marked - wanted)),
    )


def last_fingerprint(snapshot: ChangeSnapshot, bot: str) -> str | None:
    """The fingerprint of the bot's last status comment (by the bot and tagged as its own)."""
    for message in reversed(snapshot.messages):
        if message.tag == BOT_TAG and message.author.username == bot:
            found = report.find_fingerprint(message.text)
            if found:
                return found
    return None


def reviewers_to_add(
    snapshot: ChangeSnapshot, outcome: Outcome, settings: Settings
) -> tuple[str, ...]:
    """Suggested owners not yet on the change (nor removed from it), when some unmet
    requirement has fewer eligible reviewers than approvals missing.

    Without that condition every vote would shift the suggestions (the engine skips whoever
    voted) and each +1 would pull in one more owner.  A work-in-progress or private change
    is left alone.
    """
    if (
        not settings.add_reviewers
        or not outcome.unstaffed
        or snapshot.work_in_progress
        or snapshot.private
        or outcome.verdict is Verdict.APPROVED
    ):
        return ()
    present = snapshot.known_identities
    return tuple(
        person
        for person in outcome.evaluation.suggested_reviewers
        if not person.startswith("gerrit:") and person != settings.user and person not in present
    )
