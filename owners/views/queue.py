"""A reviewer's queue as `owners queue --json`, the "My reviews" page and its API show it
(one shape, so they agree), and as `owners queue` prints it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from owners.views.render import _requirement_json, table
from owners.views.review import duration

if TYPE_CHECKING:
    from owners.gerrit.queue import Queue, Queued

Json = dict[str, Any]


def queue_json(queue: Queue, now: datetime) -> Json:
    me = queue.reviewer
    return {
        "reviewer": {
            "username": me.username,
            "email": me.email,
            "name": queue.names.get(me.display),
        },
        "subsystems": [
            {
                "project": project,
                "branch": branch,
                "subsystem": a.subsystem,
                "mode": str(a.mode),
                "via": str(a.via),
                "through": list(a.through),
                "file": a.file,
            }
            for project, branch, a in queue.subsystems
        ],
        "needs_you": [_queued_json(q, queue, now) for q in queue.needs],
        "waiting_for_others": [_queued_json(q, queue, now) for q in queue.waiting],
    }


def _queued_json(queued: Queued, queue: Queue, now: datetime) -> Json:
    return {
        "change": queued.number,
        "project": queued.project,
        "branch": queued.branch,
        "subject": queued.subject,
        "owner": {"username": queued.owner, "name": queue.names.get(queued.owner)},
        "created": queued.created.isoformat(timespec="seconds"),
        "age_seconds": int((now - queued.created).total_seconds()),
        "private": queued.private,
        "work_in_progress": queued.work_in_progress,
        "verdict": str(queued.verdict),
        "yours": [_requirement_json(r) for r in queued.mine],
        "others": [_requirement_json(r) for r in queued.others],
        "suggested_reviewers": list(queued.suggested),
        "no_owner_asked": queued.no_owner_asked,
        "names": {
            who: queue.names[who]
            for r in (*queued.mine, *queued.others)
            for who in r.approved_by
            if who in queue.names
        },
    }


def queue_text(data: Json) -> str:
    """The text of `owners queue`, from its JSON (so the two cannot differ)."""
    me = data["reviewer"]
    who = me["username"] or me["email"]
    lines = [f"{who} ({me['name']})" if me["name"] else who]
    rows = [(f"{s['project']}:{s['branch']}", s["subsystem"], _via(s)) for s in data["subsystems"]]
    lines += ["", "You may approve for:", table(rows) if rows else "  nothing"]
    for title, key, mine in (("Needs you", "needs_you", "yours"),
                             ("Approved by you, waiting for others", "waiting_for_others",
                              "approved by you")):  # fmt: skip
        lines += ["", f"{title} ({len(data[key])}):"]
        lines += [_change_line(c, mine) for c in data[key]] or ["  none"]
    return "\n".join(lines)


def _via(s: Json) -> str:
    through = " → ".join(s["through"])
    via = {"direct": "owner", "alias": f"alias {through}", "group": f"group {through}"}[s["via"]]
    return via + (f", in {s['file']}" if s["file"] != "OWNERS.yaml" else "")


def _change_line(c: Json, mine: str) -> str:
    owner = c["owner"]["username"] + (f" ({c['owner']['name']})" if c["owner"]["name"] else "")
    marks = "".join(f" [{m}]" for m in ("private", "work_in_progress") if c[m])
    yours = ", ".join(r["subsystem"] for r in c["yours"])
    others = ", ".join(f"{r['subsystem']} ({r['missing']} more)" for r in c["others"])
    age = duration(c["age_seconds"])
    return (
        f"  {c['change']}{marks} {c['subject']}  by {owner}, {age} old\n"
        f"      {mine}: {yours}; also needs: {others or 'nothing else'}"
    )
