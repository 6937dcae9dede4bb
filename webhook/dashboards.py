"""`owners gerrit-setup --dashboards`: one Gerrit project dashboard per subsystem.

Gerrit keeps a project's dashboards as git config files on `refs/meta/dashboards/*`; this
writes every subsystem's to `refs/meta/dashboards/owners` (dashboard id `owners:<name>`,
shown at `/p/<project>/+/dashboard/owners:<name>`), one commit replacing them all, only when
something differs.

Each dashboard's queries find the open changes of the branch that touch a file the subsystem
must approve.  Gerrit's `file:^regex` matches whole paths with Lucene's regular expressions,
which have intersection (`&`) and complement (`~`): the subsystem's files are its patterns,
less its negated ones, less the files a nearer subsystem takes over (a descendant that is
not on trial), plus the files of the trials it enforces for; root's are the files no
subsystem claims.  This follows the engine's "nearest wins" rule; what a query cannot say
is the rest of the engine's judgement (self-approval, how many approvals), so "approved by"
means at least one approval by someone eligible.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from owners.engine import CONFIG_PATH, ROOT, Mode, Ownership
from owners.engine.resolution import is_group
from webhook.decide import compile_config
from webhook.gerrit import GerritConnection, GerritError, _mapping, encode, quoted
from webhook.settings import Settings

REF = "refs/meta/dashboards/owners"
ADMINISTRATORS = "Administrators"
REGISTERED = "global:Registered-Users"
DASHBOARD_REFS = "refs/meta/dashboards/*"
DASHBOARD_PREFIX = "owners"
OWNERS_LABEL_MAX = 1
_LUCENE_SPECIAL = set('.?+*|{}()#@&<>~"[]\\^-$')


def glob_regex(pattern: str) -> str:
    """A CODEOWNERS-style glob (docs/format.md) as a Lucene regular expression over whole
    paths: anchored when it starts with or holds a `/`, a trailing `/` covers a folder."""
    glob = pattern[1:] if pattern.startswith("!") else pattern
    anchored = glob.startswith("/") or "/" in glob.rstrip("/")
    folder = glob.endswith("/") or glob.endswith("/**")
    core = glob.strip("/").removesuffix("/**")
    out = []
    i = 0
    while i < len(core):
        c = core[i]
        if core.startswith("**/", i):
            out.append("(.*/)?")
            i += 3
            continue
        if core.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(core):
            i += 1
            out.append(_literal(core[i]))
        else:
            out.append(_literal(c))
        i += 1
    regex = "".join(out)
    prefix = "" if anchored else "(.*/)?"
    suffix = "/.*" if folder else "(/.*)?"
    return f"{prefix}{regex}{suffix}"


def _literal(c: str) -> str:
    if c not in _LUCENE_SPECIAL:
        return c
    return f"\\{c}" if c in '"\\[]^-' else f"[{c}]"


def _union(regexes: list[str]) -> str:
    return "(" + "|".join(f"({r})" for r in regexes) + ")" if regexes else ""


def matched(ownership: Ownership, name: str) -> str:
    """The files a subsystem's own patterns claim (root: every file)."""
    sub = ownership.config.subsystem(name)
    if name == ROOT:
        return ".*"
    positive = _union([glob_regex(r.pattern) for r in sub.paths if not r.negated])
    negative = _union([glob_regex(r.pattern) for r in sub.paths if r.negated])
    if not positive:
        return ""
    return f"({positive})&~({negative})" if negative else positive


def region(ownership: Ownership, name: str) -> str:
    """A regex of the files for which `name` is required (see the module's docstring)."""
    subs = ownership.config.subsystems
    descendants = [s.name for s in subs if name in _ancestors(ownership, s.name)]
    taken = [matched(ownership, d) for d in descendants if ownership.enforcer(d) != name]
    stood_in = [
        matched(ownership, s.name)
        for s in subs
        if s.name != name and s.mode is Mode.ADVISORY and ownership.enforcer(s.name) == name
    ]
    own = _union([m for m in [matched(ownership, name), *stood_in] if m])
    taken = [t for t in taken if t]
    return f"({own})&~{_union(taken)}" if taken else own


def _ancestors(ownership: Ownership, name: str) -> list[str]:
    """Parents up to root, through `noparent` too: nearest-wins ignores it (it only cuts
    the approval chain)."""
    found: list[str] = []
    parent = ownership.config.subsystem(name).parent
    while parent and parent not in found:
        found.append(parent)
        parent = ownership.config.subsystem(parent).parent
    return found


def approved_by(ownership: Ownership, name: str) -> str:
    """Any eligible approver's approving vote on the policy's label."""
    policy = ownership.config.policy
    value = f"{policy.label}={policy.approve}"
    terms = []
    for entry in ownership.eligible(name):
        if is_group(entry):
            arg = f"{value},group={entry[len('gerrit:') :]}"
        else:
            arg = f"{value},user={entry}"
        terms.append(f'label:"{quoted(arg)}"')
    return "(" + " OR ".join(terms) + ")" if terms else "is:false"


def sections(ownership: Ownership, name: str, owners_label: str) -> list[tuple[str, str]]:
    """(title, query) of each section; the dashboard's `foreach` adds project and branch."""
    files = f'file:"^{quoted(region(ownership, name))}"'
    approved = approved_by(ownership, name)
    done = f"label:{owners_label}={OWNERS_LABEL_MAX}"
    return [
        (f"Needs {name}", f"{files} -{approved}"),
        (f"Approved by {name}, waiting for others", f"{files} {approved} -{done}"),
        (f"Approved by every owner ({name} among them)", f"{files} {done}"),
    ]


def dashboard(ownership: Ownership, name: str, branch: str, owners_label: str) -> bytes:
    """One dashboard file, in the git-config syntax Gerrit reads."""
    sub = ownership.config.subsystem(name)
    lines = [
        "[dashboard]",
        f"\ttitle = {_value(f'Owners: {name}')}",
        f"\tdescription = {_value(sub.description or f'Changes needing {name}')}",
        f"\tforeach = {_value(f'project:${{project}} branch:{branch} status:open')}",
    ]
    for title, query in sections(ownership, name, owners_label):
        lines += [f'[section "{_subsection(title)}"]', f"\tquery = {_value(query)}"]
    return ("\n".join(lines) + "\n").encode()


def _value(text: str) -> str:
    """A git config value: quoted, with `\\` and `"` escaped (newlines cannot occur)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _subsection(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def dashboards(ownership: Ownership, branch: str, owners_label: str) -> dict[str, bytes]:
    """Every subsystem's dashboard file by name (names are file names: no `/` allowed)."""
    return {
        sub.name: dashboard(ownership, sub.name, branch, owners_label)
        for sub in ownership.config.all_subsystems
        if "/" not in sub.name and not sub.name.startswith(".")
    }


def write_dashboards(
    gerrit: GerritConnection, project: str, branch: str, ownership: Ownership, owners_label: str
) -> list[str]:
    """Replace the dashboards on REF with one commit when they differ; what changed."""
    files = dashboards(ownership, branch, owners_label)
    with tempfile.TemporaryDirectory(prefix="owners-dash-") as scratch:
        repo = Path(scratch)
        git = gerrit.git
        git(repo, "init", "--quiet", "--bare")
        url = gerrit.git_url(project)
        try:
            git(repo, "fetch", "--quiet", url, REF)
            parent: str | None = git(repo, "rev-parse", "FETCH_HEAD").decode().strip()
        except GerritError:
            parent = None  # no dashboards yet
        index = {"GIT_INDEX_FILE": str(repo / "owners-index")}
        for name, content in sorted(files.items()):
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
        tree = git(repo, "write-tree", env=index).decode().strip()
        if parent is not None:
            old = git(repo, "rev-parse", f"{parent}^{{tree}}").decode().strip()
            if old == tree:
                return []
        me = _mapping(gerrit.get("accounts/self"))
        who = me.get("name") or me.get("username") or gerrit.settings.user
        identity = {
            "GIT_AUTHOR_NAME": who,
            "GIT_AUTHOR_EMAIL": me.get("email") or "",
            "GIT_COMMITTER_NAME": who,
            "GIT_COMMITTER_EMAIL": me.get("email") or "",
        }
        message = f"owners: dashboards for {len(files)} subsystems of {branch}\n".encode()
        parents = ["-p", parent] if parent else []
        commit = git(repo, "commit-tree", tree, *parents, stdin=message, env=identity)
        git(repo, "push", "--quiet", url, f"{commit.decode().strip()}:{REF}")
    return [
        f"wrote {len(files)} dashboards to {REF} of {project} "
        f"(e.g. /p/{project}/+/dashboard/{DASHBOARD_PREFIX}:{next(iter(files))})"
    ]


def configure_dashboards(settings: Settings, project: str, branch: str | None = None) -> list[str]:
    """`owners gerrit-setup --dashboards`: the dashboards of `branch` (default: HEAD's) from
    its OWNERS.yaml."""
    gerrit = GerritConnection(settings)
    branch = branch or gerrit.head_branch(project)
    found = gerrit.branch_config(project, branch)
    if found.content is None:
        raise GerritError(f"{project} {branch} has no {CONFIG_PATH}: no dashboards to write")
    ownership, _ = compile_config(found.content)
    if ownership is None:
        raise GerritError(f"the {CONFIG_PATH} of {project} {branch} is invalid")
    changes = _grant(gerrit, project)
    return changes + write_dashboards(gerrit, project, branch, ownership, settings.label)


def _grant(gerrit: GerritConnection, project: str, group: str = ADMINISTRATORS) -> list[str]:
    """Gerrit lets no one create or push `refs/meta/dashboards/*` by default: grant both to
    the administrators (who run gerrit-setup), once."""
    from webhook.setup import _allow

    found = gerrit.get(f"groups/{encode(group)}", missing_ok=True)
    if not isinstance(found, dict) or not found.get("id"):
        raise GerritError(f"no Gerrit group '{group}' to grant dashboard pushes to")
    changes: list[str] = []
    for permission in ("create", "push"):
        _allow(gerrit, project, DASHBOARD_REFS, permission, found["id"], group, changes)
    # Gerrit shows a project dashboard to those who may read its ref: everyone signed in.
    _allow(gerrit, project, DASHBOARD_REFS, "read", REGISTERED, "Registered Users", changes)
    return changes
