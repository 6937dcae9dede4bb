"""How a requirement's state reads to people, in the CLI and in the bot's comment alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from owners.engine.model import Mode

if TYPE_CHECKING:
    from owners.engine.change import RequirementResult


def requirement_name(result: RequirementResult) -> str:
    return result.subsystem + (" (advisory)" if result.mode is Mode.ADVISORY else "")


def requirement_state(result: RequirementResult) -> str:
    """What blocks it first, then what is missing, then who approved: e.g. 'needs 1 more
    approval; approved by lena'."""
    parts = []
    if result.vetoed_by:
        parts.append("vetoed by " + ", ".join(result.vetoed_by))
    if result.waived and not result.vetoed_by:
        parts.append("waived")
    if result.missing:
        parts.append(f"needs {result.missing} more {plural(result.missing, 'approval')}")
    if result.approved_by:
        parts.append("approved by " + ", ".join(result.approved_by))
    return "; ".join(parts)


def plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
