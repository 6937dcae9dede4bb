"""`owners gerrit-setup --project P`: make a project enforce what the bot says, idempotently.

Seven things, each read first and written only when it differs, each reported in one line:

1. a group holding the bot account (only its members may vote on the owners label);
2. the label (function NoBlock: the label alone blocks nothing, the submit requirement does);
3. the permission to vote on it, exclusive to that group on refs/heads/*;
4. the submit requirement, pinned to the bot's vote, so no other account's vote can satisfy it;
5. what the bot must see to judge every change: private changes of the project (View Private
   Changes on refs/*) and other accounts' secondary emails (the global capability View
   Secondary Emails, in All-Projects), without which a commit's author could hide behind one;
   and Edit Hashtags on refs/heads/*, for the `owners-needs-<subsystem>` hashtags that the
   dashboards read;
6. the webhooks plugin's remote in webhooks.config on refs/meta/config, written with git since
   no REST endpoint writes a plugin's file there;
7. the same remote on All-Users, for `ref-updated` only (`configure_group_events`): group and
   account changes are ref updates there, and the vote of a removed member or a deactivated
   account must stop counting at once.

Run it with an account that owns the project and may create groups (an administrator); the
bot itself only needs to read changes, vote on the label and read the groups OWNERS.yaml names.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from owners.gerrit.connection import GerritConnection
from owners.gerrit.events import HANDLED, REF_UPDATED
from owners.gerrit.rest import encode
from owners.gerrit.settings import Settings

DEFAULT_BOT_GROUP = "Owners Bot"
DEFAULT_ALL_USERS = "All-Users"
GROUP_EVENTS = (REF_UPDATED,)
WEBHOOK_REMOTE = "owners"
WEBHOOKS_FILE = "webhooks.config"
REFS = "refs/heads/*"
ALL_PROJECTS = "All-Projects"
# What the bot reads beyond ordinary changes: (project, None for the one set up; ref; right).
BOT_RIGHTS = (
    (None, "refs/*", "viewPrivateChanges"),
    (ALL_PROJECTS, "GLOBAL_CAPABILITIES", "viewSecondaryEmails"),
    (None, REFS, "editHashtags"),
)
LABEL_VALUES = {-1: "Blocked or invalid OWNERS.yaml", 0: "Pending", 1: "Approved by owners"}
OVERRIDE_VALUES = {0: "No override", 1: "Override the owners (break-glass, audited)"}


class SetupError(RuntimeError):
    """The project cannot be configured as asked; the message says what to fix."""


def configure_project(
    settings: Settings,
    project: str,
    service_url: str,
    *,
    bot: str | None = None,
    bot_group: str = DEFAULT_BOT_GROUP,
    gerrit: GerritConnection | None = None,
    override_group: str | None = None,
    force: bool = False,
) -> list[str]:
    """Configure `project` for the bot reachable at `service_url`; return what changed.

    `bot` is the bot's username (default: the settings' user, when the bot sets itself up).
    An empty list means the project was already configured.  `override_group` (default: the
    settings' `OWNERS_OVERRIDE_GROUP`, which it must equal when both are given) also sets up
    the break-glass label its members may vote (`configure_override`) and pins the
    requirement's override to their votes (`override_term`); `force` replaces a submit
    requirement an admin changed in ways the setup cannot merge (see `requirement`).
    """
    if not settings.webhook_token:
        raise SetupError("OWNERS_WEBHOOK_TOKEN is required: it is part of the webhook URL")
    parts = urlsplit(service_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SetupError(f"the service URL must be http:// or https://, not '{service_url}'")
    if override_group and settings.override_group and override_group != settings.override_group:
        raise SetupError(
            f"--override-group '{override_group}' is not OWNERS_OVERRIDE_GROUP "
            f"'{settings.override_group}', whose overrides the service counts: make them the same"
        )
    override_group = override_group or settings.override_group
    gerrit = gerrit if gerrit is not None else GerritConnection(settings)
    bot = bot or settings.user
    label = settings.label
    if gerrit.get(f"accounts/{encode(bot)}", missing_ok=True) is None:
        raise SetupError(f"there is no Gerrit account '{bot}' for the bot")
    if gerrit.get(f"projects/{encode(project)}", missing_ok=True) is None:
        raise SetupError(f"there is no Gerrit project '{project}'")

    # Drift in the submit requirement stops the setup before it writes anything.
    _submit_requirement(
        gerrit, project, label, bot, [], settings, override_group, force, dry_run=True
    )
    changes: list[str] = []
    group_id = _group(gerrit, bot_group, bot, changes)
    _label(gerrit, project, label, changes)
    _access(gerrit, project, label, group_id, bot_group, changes)
    override = None
    if override_group:
        override = configure_override(gerrit, project, settings.override_label, override_group)
        changes += override
    _submit_requirement(gerrit, project, label, bot, changes, settings, override_group, force)
    for where, ref, permission in BOT_RIGHTS:
        _allow(gerrit, where or project, ref, permission, group_id, bot_group, changes)
    url = f"{service_url.rstrip('/')}/gerrit/events/{settings.webhook_token}"
    shown = f"{service_url.rstrip('/')}/gerrit/events/<OWNERS_WEBHOOK_TOKEN>"
    with gerrit.git.meta_config(project) as meta:
        current = meta.read(WEBHOOKS_FILE)
        updated = set_remote(current or b"", WEBHOOK_REMOTE, url, HANDLED)
        if updated != current and not (current is None and updated == b""):
            meta.write(WEBHOOKS_FILE, updated, f"owners: post events to {shown}")
            changes.append(
                f'set remote "{WEBHOOK_REMOTE}" in {WEBHOOKS_FILE} of {project} to {shown} '
                f"({len(HANDLED)} event types)"
            )
    return changes


def configure_group_events(
    settings: Settings, service_url: str, *, gerrit: GerritConnection | None = None
) -> list[str]:
    """Make All-Users post its ref updates (group and account changes among them) to the
    service; return what changed, nothing when it already does.

    The remote has the name of the projects' remote, so that it overrides one inherited from
    All-Projects: All-Users then posts each group change once, and nothing but ref updates.
    """
    if not settings.webhook_token:
        raise SetupError("OWNERS_WEBHOOK_TOKEN is required: it is part of the webhook URL")
    gerrit = gerrit if gerrit is not None else GerritConnection(settings)
    project = all_users(gerrit)
    url = f"{service_url.rstrip('/')}/gerrit/events/{settings.webhook_token}"
    shown = f"{service_url.rstrip('/')}/gerrit/events/<OWNERS_WEBHOOK_TOKEN>"
    changes: list[str] = []
    with gerrit.git.meta_config(project) as meta:
        current = meta.read(WEBHOOKS_FILE)
        updated = set_remote(current or b"", WEBHOOK_REMOTE, url, GROUP_EVENTS)
        if updated != current:
            meta.write(WEBHOOKS_FILE, updated, f"owners: post group and account changes to {shown}")
            changes.append(
                f'set remote "{WEBHOOK_REMOTE}" in {WEBHOOKS_FILE} of {project} to {shown} '
                f"({', '.join(GROUP_EVENTS)} only: group and account changes)"
            )
    return changes


def all_users(gerrit: GerritConnection) -> str:
    """The name of the project holding accounts and groups (`gerrit.allUsers` may rename it)."""
    info = gerrit.get("config/server/info", missing_ok=True)
    name = ((info or {}).get("gerrit") or {}).get("all_users") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_ALL_USERS


def submittability(label: str, bot: str) -> str:
    """Approved by the bot, and not blocked (no one else can vote; pinned all the same)."""
    return f"label:{label}=MAX,user={bot} AND -label:{label}=MIN"


def override_term(label: str, group: str) -> str:
    """The break-glass label's +1 from a member of `group` only, whoever else may vote it.

    Gerrit resolves `group=` by name only (a UUID is "not found", checked on 3.10.2 and
    3.11.0), and ends an unquoted name at its first space; quoting the whole operator value
    (`label:"L=MAX,group=Release Managers"`) keeps the name whole on both versions."""
    if '"' in group or "\\" in group:
        raise SetupError(
            f"the override group '{group}' has a quote or backslash, which Gerrit's query "
            "syntax cannot hold in the requirement's override term: rename the group"
        )
    return f'label:"{label}=MAX,group={group}"'


def unpinned_override(label: str) -> str:
    """The override term setups before the pinning wrote: met by anyone who may vote +1."""
    return f"label:{label}=MAX"


def _group(gerrit: GerritConnection, name: str, bot: str, changes: list[str]) -> str:
    info = gerrit.get(f"groups/{encode(name)}", missing_ok=True)
    if info is None:
        info = gerrit.put(
            f"groups/{encode(name)}",
            {
                "description": "Accounts of the owners bot: the only voters on the owners label",
                "members": [bot],
                "visible_to_all": False,
            },
        )
        changes.append(f"created group '{name}' with member {bot}")
        return str(info["id"])
    group_id = str(info["id"])
    if gerrit.get(f"groups/{encode(group_id)}/members/{encode(bot)}", missing_ok=True) is None:
        gerrit.put(f"groups/{encode(group_id)}/members/{encode(bot)}")
        changes.append(f"added {bot} to group '{name}'")
    return group_id


def _label(
    gerrit: GerritConnection,
    project: str,
    label: str,
    changes: list[str],
    values: dict[int, str] = LABEL_VALUES,
    kind: str = "",
) -> None:
    """A NoBlock label with exactly `values`, on every branch, copying no vote (a vote of the
    bot, or an override, is for one patch set only)."""
    path = f"projects/{encode(project)}/labels/{encode(label)}"
    current = gerrit.get(path, missing_ok=True)
    wanted: dict[str, Any] = {
        "function": "NoBlock",
        "values": {_value_key(v): text for v, text in values.items()},
        "default_value": 0,
    }
    if current is None:
        gerrit.put(path, {"commit_message": f"owners: create label {label}", **wanted})
        span = f"{min(values)}..{max(values):+d}"
        changes.append(f"created label {label} on {project} (NoBlock, {span}{kind})")
        return
    differs = [
        key
        for key, ok in (
            ("function", current.get("function") == "NoBlock"),
            ("values", _values(current.get("values")) == values),
            ("default_value", current.get("default_value", 0) == 0),
            ("copy_condition", not current.get("copy_condition")),
            ("branches", not current.get("branches")),
        )
        if not ok
    ]
    if not differs:
        return
    update = {"commit_message": f"owners: update label {label}", **wanted}
    if "copy_condition" in differs:
        update["unset_copy_condition"] = True
    if "branches" in differs:
        update["branches"] = []
    gerrit.put(path, update)
    changes.append(f"updated label {label} on {project} ({', '.join(differs)})")


def _access(
    gerrit: GerritConnection,
    project: str,
    label: str,
    group_id: str,
    group_name: str,
    changes: list[str],
    votes: tuple[int, int] = (-1, 1),
    why: str = "",
) -> None:
    """`label-<label>` with `votes` on refs/heads/*, exclusive to the group: no one else, here
    or in a parent project, may vote on it."""
    permission = f"label-{label}"
    access = gerrit.get(f"projects/{encode(project)}/access")
    current = ((access.get("local") or {}).get(REFS) or {}).get("permissions", {}).get(permission)
    rule = {"action": "ALLOW", "min": votes[0], "max": votes[1]}
    if current is not None:
        rules = current.get("rules") or {}
        if (
            current.get("exclusive")
            and set(rules) == {group_id}
            and {k: rules[group_id].get(k) for k in rule} == rule
        ):
            return
    body: dict[str, Any] = {
        "message": why or f"owners: only '{group_name}' votes on {label}",
        "add": {
            REFS: {"permissions": {permission: {"exclusive": True, "rules": {group_id: rule}}}}
        },
    }
    if current is not None:
        body["remove"] = {REFS: {"permissions": {permission: {}}}}
    gerrit.post(f"projects/{encode(project)}/access", body)
    span = f"{votes[0]}..{votes[1]:+d}"
    changes.append(
        f"granted {permission} {span} on {REFS} of {project} to '{group_name}' only (exclusive)"
    )


def _allow(
    gerrit: GerritConnection,
    project: str,
    ref: str,
    permission: str,
    group_id: str,
    group_name: str,
    changes: list[str],
) -> None:
    """Grant `permission` on `ref` of `project` to the group, unless it holds it already."""
    access = gerrit.get(f"projects/{encode(project)}/access")
    section = ((access.get("local") or {}).get(ref) or {}).get("permissions", {})
    rules = (section.get(permission) or {}).get("rules") or {}
    if (rules.get(group_id) or {}).get("action") == "ALLOW":
        return
    rule = {permission: {"rules": {group_id: {"action": "ALLOW"}}}}
    body = {
        "message": f"owners: '{group_name}' may {permission}",
        "add": {ref: {"permissions": rule}},
    }
    gerrit.post(f"projects/{encode(project)}/access", body)
    changes.append(f"granted {permission} on {ref} of {project} to '{group_name}'")


def _submit_requirement(
    gerrit: GerritConnection,
    project: str,
    label: str,
    bot: str,
    changes: list[str],
    settings: Settings,
    override_group: str | None,
    force: bool,
    *,
    dry_run: bool = False,
) -> None:
    path = f"projects/{encode(project)}/submit_requirements/{encode(label)}"
    current = gerrit.get(path, missing_ok=True)
    override = settings.override_label
    ours = Terms(
        applicable=scope_expression(settings.branches),
        override=override_term(override, override_group) if override_group else "",
    )
    retired = Terms(override=unpinned_override(override))
    wanted, drift = requirement(current, label, bot, ours, force, retired)
    if drift:
        raise SetupError(
            f"submit requirement {label} on {project} was changed by hand ({'; '.join(drift)}); "
            "nothing was changed: restore it, or run again with --force to replace it"
        )
    if wanted is None or dry_run:
        return
    gerrit.put(path, wanted)
    verb = "created" if current is None else "updated"
    shown = [wanted["submittability_expression"]]
    for key, name in (
        ("applicability_expression", "applicableIf"),
        ("override_expression", "overrideIf"),
    ):
        if wanted.get(key):
            shown.append(f"{name} {wanted[key]}")
    changes.append(f"{verb} submit requirement {label} on {project}: {'; '.join(shown)}")


DESCRIPTION = "The owners of every changed path approved (voted by the owners bot)"
MARK = " [owners-setup terms: "  # in the description: the terms the setup wrote last time


@dataclass(frozen=True)
class Terms:
    """The parts of the requirement's applicableIf and overrideIf that the setup owns."""

    applicable: str = ""
    override: str = ""


def requirement(
    current: dict[str, Any] | None,
    label: str,
    bot: str,
    ours: Terms,
    force: bool,
    retired: Terms = Terms(),
) -> tuple[dict[str, Any] | None, list[str]]:
    """The submit requirement to write (None: it is right already) and the drift that stops
    the setup (empty: none).

    What an admin added is kept: an applicableIf is ANDed with the branch scope, extra
    override terms are ORed with the break-glass label.  The setup recognises its own terms
    from the last run (recorded in the description), so changing `OWNERS_BRANCHES` or
    dropping `--override-group` replaces them instead of piling up; `retired` are terms of
    older setups that are taken out wherever found, recorded or not (the unpinned override,
    which anyone allowed to vote the label meets).  What it cannot merge
    without weakening the bot (another submittableIf, a requirement children may override)
    is drift: reported, and left alone unless `force`, which writes the setup's own only.
    """
    pinned = submittability(label, bot)
    before = _recorded(current)
    theirs = Terms(
        _without(
            str((current or {}).get("applicability_expression") or ""), before.applicable, "AND"
        ),
        _without(
            _without(str((current or {}).get("override_expression") or ""), before.override, "OR"),
            retired.override,
            "OR",
        ),
    )
    drift = []
    if current is not None and not force:
        if current.get("submittability_expression") != pinned:
            drift.append(f"submittableIf is '{current.get('submittability_expression')}'")
        if current.get("allow_override_in_child_projects"):
            drift.append("child projects may override it")
        if drift:
            return None, drift
    if force:
        theirs = Terms()
    wanted: dict[str, Any] = {
        "name": label,
        "description": DESCRIPTION + _record(ours),
        "submittability_expression": pinned,
        "allow_override_in_child_projects": False,
    }
    applicable = _joined(theirs.applicable, ours.applicable, "AND")
    override = _joined(theirs.override, ours.override, "OR")
    if applicable:
        wanted["applicability_expression"] = applicable
    if override:
        wanted["override_expression"] = override
    if current is not None and all(
        (current.get(k) or None) == (wanted.get(k) or None)
        for k in (
            "description",
            "submittability_expression",
            "applicability_expression",
            "override_expression",
            "allow_override_in_child_projects",
        )
    ):
        return None, []
    return wanted, []


def scope_expression(branches: tuple[str, ...]) -> str:
    """`OWNERS_BRANCHES` as a Gerrit query: `branch:master OR branch:^stable/.*`; empty for
    every branch.  A `.` stays a regular-expression dot, which can only widen the scope: a
    branch the requirement applies to but the bot does not vote on stays blocked."""
    terms = []
    for glob in branches:
        if "*" in glob or "?" in glob:
            terms.append("branch:^" + glob.replace("*", ".*").replace("?", "."))
        else:
            terms.append(f"branch:{glob}")
    return " OR ".join(terms)


def _record(ours: Terms) -> str:
    if not ours.applicable and not ours.override:
        return ""
    return f"{MARK}applicableIf={ours.applicable}; overrideIf={ours.override}]"


def _recorded(current: dict[str, Any] | None) -> Terms:
    text = str((current or {}).get("description") or "")
    if MARK not in text or not text.endswith("]"):
        return Terms()
    body = text.split(MARK, 1)[1][:-1]
    applicable, _, override = body.partition("; overrideIf=")
    return Terms(applicable.removeprefix("applicableIf="), override)


def _joined(theirs: str, ours: str, op: str) -> str:
    if theirs and ours:
        return f"({theirs}) {op} ({ours})"
    return theirs or ours


def _without(expression: str, ours: str, op: str) -> str:
    """`expression` with the setup's own earlier term taken out (see `_joined`)."""
    if not ours:
        return expression
    if expression == ours:
        return ""
    tail = f") {op} ({ours})"
    if expression.startswith("(") and expression.endswith(tail):
        return expression[1 : -len(tail)]
    return expression


def configure_override(gerrit: GerritConnection, project: str, label: str, group: str) -> list[str]:
    """The break-glass label (+1 only, NoBlock, no copied votes: an override is for one patch
    set), votable only by `group` on refs/heads/*; return what changed."""
    changes: list[str] = []
    info = gerrit.get(f"groups/{encode(group)}", missing_ok=True)
    if info is None:
        raise SetupError(f"there is no Gerrit group '{group}' for --override-group")
    group_id = str(info["id"])
    _label(gerrit, project, label, changes, OVERRIDE_VALUES, ": break-glass")
    why = f"owners: only '{group}' may override the owners"
    _access(gerrit, project, label, group_id, group, changes, (0, 1), why)
    return changes


def set_remote(config: bytes, remote: str, url: str, events: tuple[str, ...]) -> bytes:
    """`config` (a git-config file) with `[remote "<remote>"]` posting `events` to `url`, other
    sections untouched; returned unchanged when it already says exactly that."""
    with tempfile.TemporaryDirectory(prefix="owners-config-") as scratch:
        path = Path(scratch) / "webhooks.config"
        path.write_bytes(config)

        def git_config(*args: str, check: bool = True) -> str:
            done = subprocess.run(
                ["git", "config", "-f", str(path), *args],
                capture_output=True,
                text=True,
                check=False,
            )
            if check and done.returncode != 0:
                raise SetupError(f"{WEBHOOKS_FILE}: {done.stderr.strip() or 'git config failed'}")
            return done.stdout

        section = f"remote.{remote}"
        found = git_config("--get-regexp", "^" + section.replace(".", r"\.") + r"\.", check=False)
        wanted = [f"{section}.url {url}", *(f"{section}.event {e}" for e in events)]
        if sorted(found.splitlines()) == sorted(wanted):
            return config
        git_config("--remove-section", section, check=False)
        git_config("--add", f"{section}.url", url)
        for event in events:
            git_config("--add", f"{section}.event", event)
        return path.read_bytes()


def _value_key(value: int) -> str:
    return f"{value:+d}" if value else " 0"


def _values(values: Any) -> dict[int, str]:
    try:
        return {int(str(k).strip()): str(v) for k, v in (values or {}).items()}
    except ValueError:
        return {}
