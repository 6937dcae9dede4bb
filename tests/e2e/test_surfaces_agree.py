"""End to end, issue 20: every surface gives the bot's answer.

One demo Nova project, whose `master` turns on every rule and opt-in of docs/format.md at
once (an included file, a `gerrit:` group, aliases, `noparent`, an advisory trial, root's
veto, implicit approval, an exempt account, pure reverts, sticky approvals,
`conflict-resolution` merges, the break-glass override), gets one change per case (`CASES`).
Each change is then read through every public surface:

- `bot`: the bot's vote on the owners label and its last status comment (Gerrit REST);
- `submit-check`: `POST /submit-check`, as the Gerrit plugin asks it at submit;
- `page`: the change's web page as JSON (`/api/v1/c/N`);
- `check`: `owners check --change N --json`, the installed console script with the
  service's settings;
- `dashboards`: each section query of the dashboards `owners gerrit-setup --dashboards`
  writes, run on Gerrit's `/changes/?q=`, read as docs/api.md defines the sections;
- `report`: the change's row of `owners report --json` (console script), and `report
  --config`: the same judged by the map of a checkout of master (the report's own judgement,
  apart from how it reads the branch's map).

Each surface's answer becomes one `Answer` (the fields it cannot show are None), and one
assertion per change compares them all, with the case's expected verdict, printing every
record side by side.  Only public surfaces are used: HTTP, Gerrit's REST API and the
`owners` command; nothing is imported from `webhook` or `owners.cli`.

Adding a case is one row of `CASES`: a function that pushes and reviews a change (and
returns its number), the bot's expected verdict and unmet requirements.  A difference that
the docs state is listed in `DOCUMENTED`, and nothing else is let through.  On 650c865 (before
issue 20) all 19 cases failed: the pages and the dashboards compiled OWNERS.yaml without its
included files.  Then it found `owners report` unable to read a branch that delegates and
counting a lieutenant's approval of her own commit uploaded by someone else, and the
dashboards' *Needs S* listing changes the bot approved; each was fixed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import devgerrit
import novademo
import pytest
import requests
from novademo import Nova

pytestmark = pytest.mark.e2e

OWNERS = str(Path(sys.executable).parent / "owners")
"""The installed console script (.venv/bin/owners)."""
OVERRIDERS = "Release Managers"  # hana only (novademo.running)
OVERRIDE_LABEL = "Owners-Override"
COMPUTE_TEAM = "Compute Team"
DELEGATED = "nova/virt/hyperv/OWNERS.yaml"
ADVISORY = frozenset({"xenapi"})

MAP = f"""version: 1
include: [{DELEGATED}]
policy:
  label: Code-Review
  approve: 2
  veto: -2
  self_approval: false
  root_veto: true
  implicit_approval: true
  exempt: [hana]
  pure_reverts: exempt
  sticky_approvals: true
  merge_commits: conflict-resolution
groups:
  nova-core: [carol, dave, erin]
  vmware-core: [victor, wendy]
  xenapi-core: [xavier, yuri]
root:
  owners: [nova-core]
subsystems:
  - name: compute
    paths: [nova/compute/]
    owners: ["gerrit:{COMPUTE_TEAM}"]
  - name: virt
    paths: [nova/virt/]
    owners: [lena, victor]
  - name: vmware
    paths: [nova/virt/vmwareapi/]
    owners: [vmware-core]
    parent: virt
    noparent: true
  - name: xenapi
    paths: [nova/virt/xenapi/]
    owners: [xenapi-core]
    parent: virt
    mode: advisory
"""
"""Every requirement needs one approval: a dashboard cannot count approvals (docs/api.md),
so a second one would only make its sections read differently, not wrongly."""
INCLUDED = """version: 1
groups:
  hv-team: [alice, bob@example.org]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [hv-team]
    parent: virt
"""
CORE = "nova/compute/api.py"  # compute (a gerrit: group), then root
HYPERV = "nova/virt/hyperv/driver.py"  # hyperv, defined in the included file
VMWARE = "nova/virt/vmwareapi/vm.py"  # vmware: noparent
XENAPI = "nova/virt/xenapi/vm.py"  # xenapi (advisory), enforced by virt
README = "README.rst"  # only root

PENDING, APPROVED, BLOCKED = "PENDING", "APPROVED", "BLOCKED"
NOT_APPROVED = "PENDING/BLOCKED"
"""What a surface that cannot tell the two apart says (a dashboard, an overridden check)."""


# -- the normalised answer ----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One surface's answer about one change.  None: the surface does not show it.

    `verdict` may list alternatives (`PENDING/BLOCKED`); `needs` is every requirement and
    `unmet` those not met or vetoed (`name (advisory)` for a trial); `unapproved` those of
    `unmet` nobody has approved yet; `waits_for` the enforced requirements of `unmet` while
    the change is not approved (what a dashboard's *Needs S* shows, `waiting`); `eligible`
    the owners entries who may approve each requirement; `override` who broke the glass."""

    verdict: str | None = None
    needs: tuple[str, ...] | None = None
    unmet: tuple[str, ...] | None = None
    unapproved: tuple[str, ...] | None = None
    waits_for: tuple[str, ...] | None = None
    eligible: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    override: str | None = None
    error: str | None = None


def waiting(answer: Answer) -> Answer:
    """`answer` with `waits_for` derived from its verdict and `unmet`, where it shows both."""
    if answer.waits_for is not None or answer.unmet is None or answer.verdict is None:
        return answer
    if "/" in answer.verdict:  # a surface that cannot tell pending from blocked
        return answer
    enforced = tuple(u for u in answer.unmet if not u.endswith(" (advisory)"))
    return replace(answer, waits_for=() if answer.verdict == APPROVED else enforced)


def disagreements(answers: Mapping[str, Answer]) -> list[str]:
    """The fields on which the surfaces that show them differ."""
    found = []
    for field in fields(Answer):
        shown = {s: getattr(a, field.name) for s, a in answers.items()}
        shown = {s: v for s, v in shown.items() if v is not None}
        if field.name == "verdict":
            options = [set(v.split("/")) for v in shown.values()]
            if options and not set.intersection(*options):
                found.append(field.name)
        elif field.name == "error":
            if shown:
                found.append(field.name)
        elif len({repr(v) for v in shown.values()}) > 1:
            found.append(field.name)
    return found


def table(answers: Mapping[str, Answer]) -> str:
    """Every surface's answer, a column per field."""
    names = [f.name for f in fields(Answer)]
    rows = [["surface", *names]]
    for surface, answer in answers.items():
        rows.append(
            [surface, *("-" if (v := getattr(answer, n)) is None else _show(v) for n in names)]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(names) + 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def _show(value: object) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return "; ".join(f"{k}: {','.join(v)}" for k, v in value)
    if isinstance(value, tuple):
        return ",".join(value) or "()"
    return str(value)


def _name(subsystem: str, mode: str | None = None) -> str:
    advisory = mode == "advisory" if mode else subsystem in ADVISORY
    return subsystem + (" (advisory)" if advisory else "")


# -- the cases ----------------------------------------------------------------------------


@dataclass
class Demo:
    nova: Nova
    seed: str
    """master before the map was pushed: an ancestor the merge case merges in."""


def unmet(demo: Demo) -> int:
    return demo.nova.push_change("zed", {README: "# unmet\n"}, "docs: unmet")


def met(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {README: "# met\n"}, "docs: met")
    demo.nova.vote("carol", number, 2)
    return number


def crossing(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {HYPERV: "# x\n", CORE: "# x\n"}, "hyperv and compute")
    demo.nova.vote("alice", number, 2)
    return number


def gerrit_group(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {CORE: "# group\n"}, "compute: group")
    demo.nova.vote("dora", number, 2)  # a member of the Gerrit group only
    return number


def alias(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {VMWARE: "# alias\n"}, "vmware: alias")
    demo.nova.vote("wendy", number, 2)  # through the alias vmware-core
    return number


def noparent(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {VMWARE: "# noparent\n"}, "vmware: noparent")
    demo.nova.vote("lena", number, 2)  # virt's: not eligible below a noparent
    demo.nova.vote("carol", number, 2)  # root's: neither
    return number


def root_veto(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {VMWARE: "# veto\n"}, "vmware: vetoed")
    demo.nova.vote("wendy", number, 2)
    demo.nova.vote("carol", number, -2)  # root vetoes even under noparent
    return number


def advisory(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {XENAPI: "# trial\n"}, "xenapi: trial")
    demo.nova.vote("xavier", number, 2)  # the trial team approves; virt enforces
    return number


def self_approval(demo: Demo) -> int:
    # alice uploads zed's commit: both are its authors, so her +2 counts for nothing
    nova = demo.nova
    number = nova.push_commit("alice", ["master"], {HYPERV: "# self\n"}, "hv: self", author="zed")
    nova.vote("alice", number, 2)
    return number


def implicit(demo: Demo) -> int:
    number = demo.nova.push_change("alice", {HYPERV: "# implicit\n"}, "hyperv: implicit")
    demo.nova.vote("alice", number, -2)  # her own vote counts neither way
    return number


def implicit_crossing(demo: Demo) -> int:
    # her ownership approves hyperv, not compute: the change waits for compute alone
    files = {HYPERV: "# implicit, crossing\n", CORE: "# implicit, crossing\n"}
    return demo.nova.push_change("alice", files, "hyperv and compute: implicit")


def exempt(demo: Demo) -> int:
    return demo.nova.push_change("hana", {CORE: "# exempt\n"}, "release: exempt")


def override(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {README: "# override\n"}, "docs: override")
    demo.nova.vote("hana", number, 1, label=OVERRIDE_LABEL)
    return number


def sticky(demo: Demo) -> int:
    nova = demo.nova
    number = nova.push_change("zed", {HYPERV: "# sticky\n"}, "hyperv: sticky")
    nova.vote("alice", number, 2)
    change = nova.rest("zed").get(f"changes/{number}")
    message = f"{change['subject']}\n\nMore words.\n\nChange-Id: {change['change_id']}\n"
    nova.rest("zed").put(f"changes/{number}/message", {"message": message})  # patch set 2
    return number


def pure_revert(demo: Demo) -> int:
    nova = demo.nova
    original = nova.push_change("zed", {README: "# to revert\n"}, "docs: to revert")
    nova.vote("carol", original, 2)
    assert nova.wait_for_bot(original, 1, timeout=120) == 1
    assert nova.submit("carol", original)["status"] == "MERGED"
    return int(nova.rest("zed").post(f"changes/{original}/revert", {})["_number"])


def merge(demo: Demo) -> int:
    # both parents on master: against the auto-merge only the Hyper-V resolution differs
    # (against the seed, OWNERS.yaml and the included file differ too: root's)
    nova = demo.nova
    number = nova.push_commit("zed", ["master", demo.seed], {HYPERV: "# resolved\n"}, "merge")
    nova.vote("alice", number, 2)
    return number


def stack(demo: Demo) -> int:
    nova = demo.nova
    below = nova.push_change("zed", {CORE: "# below\n"}, "compute: below")
    parent = f"refs/changes/{below % 100:02d}/{below}/1"
    number = nova.push_commit("zed", [parent], {HYPERV: "# above\n"}, "hyperv: above")
    nova.vote("alice", number, 2)  # judged on its own files; `below` on its own
    return number


def included_owner(demo: Demo) -> int:
    number = demo.nova.push_change("zed", {HYPERV: "# bob\n"}, "hyperv: bob")
    demo.nova.vote("bob", number, 2)  # named only in the included file
    return number


def included_file(demo: Demo) -> int:
    grown = INCLUDED.replace("[alice, bob@example.org]", "[alice, bob@example.org, hana]")
    number = demo.nova.push_change("zed", {DELEGATED: grown}, "hyperv: add hana")
    demo.nova.vote("alice", number, 2)  # the included file is its lieutenants'
    return number


@dataclass(frozen=True)
class Case:
    setup: Callable[[Demo], int]
    verdict: str
    unmet: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.setup.__name__.replace("_", "-")


CASES = [
    Case(unmet, PENDING, ("root",)),
    Case(met, APPROVED),
    Case(crossing, PENDING, ("compute",)),
    Case(gerrit_group, APPROVED),
    Case(alias, APPROVED),
    Case(noparent, PENDING, ("vmware",)),
    Case(root_veto, BLOCKED, ("vmware",)),
    Case(advisory, PENDING, ("virt",)),
    Case(self_approval, PENDING, ("hyperv",)),
    Case(implicit, APPROVED),
    Case(implicit_crossing, PENDING, ("compute",)),
    Case(exempt, APPROVED),
    Case(override, PENDING, ("root",)),
    Case(sticky, APPROVED),
    Case(pure_revert, APPROVED),
    Case(merge, APPROVED),
    Case(stack, APPROVED),
    Case(included_owner, APPROVED),
    Case(included_file, APPROVED),
]


# -- the demo and every surface's answers -------------------------------------------------


@dataclass(frozen=True)
class Readings:
    """Every surface's answer about every case's change (by case, then surface), and what
    shows how each change got there: the service's log lines on it and its hashtags in
    NoteDb, read after the surfaces (printed when a case fails)."""

    answers: dict[str, dict[str, Answer]]
    history: dict[str, str]


@pytest.fixture(scope="module")
def readings(
    gerrit: devgerrit.GerritServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Readings]:
    workdir = tmp_path_factory.mktemp("agree")
    with novademo.running(gerrit, workdir, override_group=OVERRIDERS) as nova:
        demo = Demo(nova, _push_map(nova, workdir))
        numbers = {case.name: case.setup(demo) for case in CASES}
        nova.wait_until_idle(timeout=180)
        answers = _read_all(nova, numbers, workdir / "map")
        history = {name: _history(nova, number) for name, number in numbers.items()}
        yield Readings(answers, history)


def _history(nova: Nova, number: int) -> str:
    """The service's log messages about change `number`, then its hashtags now."""
    mark = f"{nova.project}~{number}"
    lines = []
    for line in nova.service_log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = str(record.get("message", ""))
        if re.search(rf"{re.escape(mark)}\b", message):
            lines.append(f"  {record.get('time', '')[11:23]} {message[:160]}")
    hashtags = nova.gerrit.rest.get(f"changes/{nova.project}~{number}/hashtags")
    return "\n".join([*lines, f"  hashtags now: {', '.join(hashtags) or '-'}"])


def _push_map(nova: Nova, workdir: Path) -> str:
    """The Gerrit group, then MAP and its included file pushed straight to master (in the
    clone `workdir/map`); master before."""
    admin = nova.gerrit.rest
    admin.create_group(COMPUTE_TEAM, ["dora"])
    # the bot reads the members of every gerrit: group (docs/deployment.md)
    admin.put(f"groups/{quote(COMPUTE_TEAM, safe='')}/options", {"visible_to_all": True})
    seed = admin.get(f"projects/{nova.project}/branches/master")["revision"]
    clone = devgerrit.git_clone(
        nova.gerrit.git_url(nova.project), workdir / "map", nova.gerrit.admin_auth
    )
    me = admin.get("accounts/self")
    files = {"OWNERS.yaml": MAP, DELEGATED: INCLUDED}
    devgerrit.git_commit(clone, "Every rule and opt-in", files, author=(me["name"], me["email"]))
    devgerrit.git_push(
        clone, nova.gerrit.git_url(nova.project), *nova.gerrit.admin_auth, "HEAD:refs/heads/master"
    )
    return seed


def _read_all(
    nova: Nova, numbers: Mapping[str, int], checkout: Path
) -> dict[str, dict[str, Answer]]:
    """Every surface's answer about every case's change, by case and surface; `checkout`
    holds the map as a clone of master (for `owners report --config`)."""
    changes = set(numbers.values())
    boards = _dashboards(nova, changes)
    report = _report(nova, changes)
    local = _report(nova, changes, "--config", str(checkout / "OWNERS.yaml"), cwd=checkout)
    with ThreadPoolExecutor(4) as pool:
        checks = dict(
            zip(numbers, pool.map(lambda n: _check(nova, n), numbers.values()), strict=True)
        )
    return {
        name: {
            "bot": _bot(nova, number),
            "submit-check": _submit_check(nova, number),
            "page": _page(nova, number),
            "check": checks[name],
            "dashboards": boards.get(number, Answer(error="in no section")),
            "report": report[number],
            "report --config": local[number],
        }
        for name, number in numbers.items()
    }


def _owners(
    nova: Nova, *args: str, user: str = novademo.BOT, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `owners` with the service's settings (as `user`)."""
    return subprocess.run(
        [OWNERS, *args],
        cwd=cwd,
        env=nova.service_env(user=user),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


_BULLET = re.compile(r"^\* ([✔✘]) ([\w.-]+(?: \(advisory\))?): (.*)$", re.MULTILINE)
_OVERRIDDEN = re.compile(r"Overridden with \S+ by ([^;]+);")
_VOTES = {APPROVED: 1, BLOCKED: -1, PENDING: 0}


def _bot(nova: Nova, number: int) -> Answer:
    """The bot's last status comment (its verdict, a bullet per requirement, the override
    line), checked against its vote on the owners label."""
    change = nova.change(number)
    comments = novademo.bot_messages(change)
    if not comments:
        return Answer(error="no comment")
    comment = comments[-1]
    verdict = comment.split(":")[1].strip() if comment.startswith("Owners: ") else comment[:40]
    vote = novademo.bot_vote(change) or 0
    if _VOTES.get(verdict) != vote:
        verdict = f"{verdict} (label {vote:+d})"
    bullets = _BULLET.findall(comment)
    overridden = _OVERRIDDEN.search(comment)
    return Answer(
        verdict=verdict,
        needs=tuple(sorted(name for _, name, _ in bullets)),
        unmet=tuple(sorted(name for mark, name, _ in bullets if mark == "✘")),
        unapproved=tuple(
            sorted(
                name for mark, name, state in bullets if mark == "✘" and "approved by" not in state
            )
        ),
        override=overridden.group(1) if overridden else None,
    )


_REASON_PART = re.compile(r"^([\w.-]+(?: \(advisory\))?): (.*)$")


def _submit_check(nova: Nova, number: int) -> Answer:
    """`POST /submit-check` about the current revision, as the plugin asks: the verdict, and
    from its reason the requirements unmet (`name: state; ...`)."""
    info = nova.gerrit.rest.get(f"changes/{number}?o=CURRENT_REVISION")
    body = {
        "project": info["project"],
        "branch": info["branch"],
        "change": number,
        "revision": info["current_revision"],
    }
    headers = {"Authorization": f"Bearer {nova.token}"}
    answer = requests.post(nova.submit_check_url, json=body, headers=headers, timeout=60)
    if answer.status_code != 200:
        return Answer(error=f"{answer.status_code} {answer.text[:80]}")
    data = answer.json()
    verdict, reason, override = data["verdict"], data["reason"], None
    if verdict == APPROVED and reason.startswith("overridden by "):
        # Gerrit's overrideIf let it through: the owners did not approve
        who, _, reason = reason.removeprefix("overridden by ").partition(" (")
        verdict, override, reason = NOT_APPROVED, who, reason.removesuffix(")")
    unmet: list[str] = []
    unapproved: list[str] = []
    if verdict != APPROVED:
        parts = reason.split("; ")
        for i, part in enumerate(parts):
            found = _REASON_PART.match(part)
            if not found:
                continue
            unmet.append(found.group(1))
            # a requirement's state runs on over the parts up to the next requirement
            state = [found.group(2)]
            for rest in parts[i + 1 :]:
                if _REASON_PART.match(rest):
                    break
                state.append(rest)
            if not any(s.startswith("approved by") for s in state):
                unapproved.append(found.group(1))
    return Answer(
        verdict=verdict,
        unmet=tuple(sorted(unmet)),
        unapproved=tuple(sorted(unapproved)),
        override=override,
    )


def _requirements_answer(verdict: str, requirements: list[dict[str, Any]]) -> Answer:
    """An Answer from the CLI's `check --json` requirements (the page's hold more)."""
    unmet = [r for r in requirements if not r["met"] or r["vetoed_by"]]
    return Answer(
        verdict=verdict,
        needs=tuple(sorted(_name(r["subsystem"], r["mode"]) for r in requirements)),
        unmet=tuple(sorted(_name(r["subsystem"], r["mode"]) for r in unmet)),
        unapproved=tuple(
            sorted(_name(r["subsystem"], r["mode"]) for r in unmet if not r["approved_by"])
        ),
    )


def _page(nova: Nova, number: int) -> Answer:
    """`/api/v1/c/N`, read as the administrator (who sees every group's members)."""
    answer = requests.get(
        f"{nova.service_url}/api/v1/c/{number}", auth=nova.gerrit.admin_auth, timeout=60
    )
    if answer.status_code != 200:
        return Answer(error=f"{answer.status_code} {answer.text[:80]}")
    data = answer.json()
    requirements = data["requirements"]
    found = _requirements_answer(data["verdict"], requirements)
    eligible = {
        _name(r["subsystem"], r["mode"]): tuple(sorted(e["entry"] for e in r["eligible"]))
        for r in requirements
    }
    return Answer(
        verdict=found.verdict,
        needs=found.needs,
        unmet=found.unmet,
        unapproved=found.unapproved,
        eligible=tuple(sorted(eligible.items())),
    )


def _check(nova: Nova, number: int) -> Answer:
    """`owners check --change N --json` (exit 0 approved, 1 not; 2 no verdict)."""
    done = _owners(nova, "check", "--change", str(number), "--json")
    if done.returncode not in (0, 1):
        return Answer(error=f"exit {done.returncode}: {done.stderr.strip()[:80]}")
    data = json.loads(done.stdout)
    return _requirements_answer(data["verdict"], data["requirements"])


def _report(
    nova: Nova, numbers: set[int], *options: str, cwd: Path | None = None
) -> dict[int, Answer]:
    """`owners report --json`'s row of each change; with `--config`, judged by a local map
    (that of the checkout `cwd`) instead of the branch head's."""
    args = ("report", "--project", nova.project, "--since", "1d", "--json", *options)
    done = _owners(nova, *args, cwd=cwd)
    if done.returncode != 0:
        return dict.fromkeys(numbers, Answer(error=f"report: {done.stderr.strip()[:100]}"))
    rows = {row["change"]: row for row in json.loads(done.stdout)["changes"]}
    return {
        n: Answer(
            verdict=rows[n]["verdict"],
            needs=tuple(sorted(_name(s) for s in rows[n]["subsystems"])),
        )
        if n in rows
        else Answer(error="not in the report")
        for n in numbers
    }


def _dashboards(nova: Nova, numbers: set[int]) -> dict[int, Answer]:
    """The dashboards of the map now on master (`owners gerrit-setup --dashboards`), each
    section queried on Gerrit, read as docs/api.md says: the subsystems listing a change are
    its requirements, *Needs S* lists it while the bot waits for S, the third section once
    the bot approved it."""
    done = _owners(
        nova,
        "gerrit-setup",
        "--project",
        nova.project,
        "--service-url",
        nova.service_url,
        "--bot",
        novademo.BOT,
        "--dashboards",
        user="admin",
    )
    if done.returncode != 0:
        failed = f"gerrit-setup --dashboards: {done.stderr.strip()[:100]}"
        return {n: Answer(error=failed) for n in numbers}
    rest = nova.gerrit.rest
    # Gerrit's change index can keep a document older than the change's NoteDb state (seen
    # in CI: the bot's +1 posted 10 s before, missing from `label:` queries while NoteDb and
    # every other surface had it), so each change is indexed again first: the sections are
    # then judged on what the bot posted, not on Gerrit's index lag.
    for number in numbers:
        rest.post(f"changes/{nova.project}~{number}/index")
    ids = [d["id"] for d in rest.get(f"projects/{nova.project}/dashboards/")]
    needs: dict[int, set[str]] = {n: set() for n in numbers}
    waits: dict[int, set[str]] = {n: set() for n in numbers}
    approved: dict[int, set[str]] = {n: set() for n in numbers}
    for board_id in ids:
        if not board_id.startswith("owners:"):
            continue
        name = _name(board_id.removeprefix("owners:"))
        board = rest.get(f"projects/{nova.project}/dashboards/{quote(board_id, safe='')}")
        sections = board["sections"]
        found = []
        for section in sections:
            query = f"project:{nova.project} branch:master status:open {section['query']}"
            listed = {c["_number"] for c in rest.get(f"changes/?{urlencode({'q': query})}")}
            found.append(listed & numbers)
        for number in set().union(*found):
            needs[number].add(name)
        for number in found[0]:
            waits[number].add(name)
        for number in found[2]:
            approved[number].add(name)
    return {
        n: Answer(
            verdict=APPROVED if needs[n] and approved[n] == needs[n] else NOT_APPROVED,
            needs=tuple(sorted(needs[n])),
            waits_for=tuple(sorted(waits[n])),
        )
        for n in numbers
        if needs[n]
    }


# -- the assertions ----------------------------------------------------------------------

DOCUMENTED = {
    (case, surface, "verdict"): (
        "owners report judges each change again from its votes and writers, to time the "
        "waits; it does not read what sticky approvals and pure reverts need (the content of "
        "every patch set), so it shows such a change as not approved (docs/cli.md)"
    )
    for case in ("sticky", "pure-revert")
    for surface in ("report", "report --config")
}
"""(case, surface, field): a difference the docs state; not compared."""


def compared(case: str, answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """The answers with the fields of DOCUMENTED blanked."""
    return {
        surface: replace(
            answer,
            **{f.name: None for f in fields(Answer) if (case, surface, f.name) in DOCUMENTED},
        )
        for surface, answer in answers.items()
    }


def _found(case: Case, answers: dict[str, dict[str, Answer]]) -> dict[str, Answer]:
    found = {"expected": Answer(verdict=case.verdict, unmet=case.unmet), **answers[case.name]}
    return {surface: waiting(answer) for surface, answer in found.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_surface_gives_the_bots_answer(case: Case, readings: Readings) -> None:
    found = _found(case, readings.answers)
    differ = disagreements(compared(case.name, found))
    assert not differ, (
        f"{case.name}: surfaces differ on {', '.join(differ)}\n{table(found)}\n"
        f"the service on this change:\n{readings.history[case.name]}"
    )
