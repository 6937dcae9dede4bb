"""The meaning of OWNERS.yaml, one table row per scenario of the format's seven sentences.

Most rows run against the Nova-shaped fixture (`tests/fixtures/nova-OWNERS.yaml`):

    root        nova-core = carol, dave, erin                  approvals 2
    virt        lena, victor                 nova/virt/
    driver-api  driver-api-core = dora + hyperv-core           nova/virt/driver.py
    hyperv      hyperv-core = alice, bob@example.org  < virt   (README.rst excluded)
    vmware      vmware-core = victor, wendy           < virt   noparent
    libvirt     libvirt-core = lena, luke             < virt   approvals 2
    xenapi      xenapi-core = xavier, yuri            < virt   advisory

The rest use small inline configs built by `config()`.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from owners.engine import (
    ROOT,
    Account,
    Change,
    ChangedFile,
    Ownership,
    Verdict,
    Vote,
    evaluate,
    load_config,
)
from tests.conftest import NOVA_OWNERS

NOVA = Ownership(load_config(NOVA_OWNERS.read_bytes()))


def config(subsystems: str = "", policy: str = "", groups: str = "", root: str = "[r1, r2]"):
    """A compiled inline config: `subsystems` are flow mappings, one per line."""
    text = "version: 1\n"
    if policy:
        text += f"policy: {{{policy}}}\n"
    if groups:
        text += f"groups: {{{groups}}}\n"
    text += f"root: {{owners: {root}}}\n"
    if subsystems:
        text += "subsystems:\n" + "".join(
            f"  - {{{line.strip()}}}\n" for line in subsystems.strip().splitlines()
        )
    return Ownership(load_config(text))


def account(name: str) -> Account:
    """`bob@example.org` is an email, `user:bob@example.org` a username spelled like one,
    `bob!` an account Gerrit reports as inactive (deactivated)."""
    if name.endswith("!"):
        return replace(account(name[:-1]), active=False)
    if name.startswith("user:"):
        return Account(username=name[len("user:") :])
    return Account(email=name) if "@" in name else Account(username=name)


def votes(spec: str) -> list[Vote]:
    """'carol+2 dave-1' -> votes in that order."""
    result = []
    for item in spec.split():
        cut = max(item.rfind("+"), item.rfind("-"))
        result.append(Vote(account(item[:cut]), int(item[cut:])))
    return result


def change(
    files: list[str | ChangedFile],
    vote_spec: str = "",
    owner: str = "author",
    uploader: str | None = None,
    number: int = 1,
) -> Change:
    return Change.of(
        files,
        votes(vote_spec),
        account(owner),
        account(uploader) if uploader else account(owner),
        number,
    )


# -- sentence 1: paths are CODEOWNERS patterns, in order, `!` excluding, case-sensitive ----------

PATTERN_ROWS = [
    # (scenario, patterns, path, owned)
    ("leading slash anchors at the root", ["/docs"], "docs/a.md", True),
    ("leading slash does not match deeper", ["/docs"], "src/docs/a.md", False),
    ("no slash matches at any depth", ["docs"], "src/docs/a.md", True),
    ("trailing slash means a directory and everything in it", ["docs/"], "docs/x/y/z.md", True),
    ("trailing slash does not match a file of that name", ["docs/"], "docs", False),
    ("star stays within a segment", ["/src/*.c"], "src/a/b.c", False),
    ("star matches within a segment", ["/src/*.c"], "src/b.c", True),
    ("lone star as last segment means direct children only", ["src/*"], "src/a/b.c", False),
    ("double star spans directories", ["/src/**/test_*.py"], "src/a/b/test_x.py", True),
    ("double star spans zero directories", ["/src/**/test_*.py"], "src/test_x.py", True),
    ("question mark is exactly one character", ["/v?.txt"], "v1.txt", True),
    ("question mark is not zero characters", ["/v?.txt"], "v.txt", False),
    ("backslash escapes a star", ["/a\\*b"], "a*b", True),
    ("an escaped star is not a wildcard", ["/a\\*b"], "axb", False),
    ("a bang excludes a later match", ["docs/", "!docs/internal/"], "docs/internal/x.md", False),
    ("a bang leaves other paths owned", ["docs/", "!docs/internal/"], "docs/guide.md", True),
    ("a later pattern re-includes", ["docs/", "!docs/internal/", "docs/internal/ok.md"],
     "docs/internal/ok.md", True),
    ("an exclusion before the inclusion excludes nothing", ["!docs/internal/", "docs/"],
     "docs/internal/x.md", True),
    ("matching is case-sensitive", ["/Docs/"], "docs/a.md", False),
    ("case-sensitive extensions", ["*.PY"], "a.py", False),
]


@pytest.mark.parametrize(
    ("patterns", "path", "owned"),
    [row[1:] for row in PATTERN_ROWS],
    ids=[row[0] for row in PATTERN_ROWS],
)
def test_paths_follow_codeowners_rules_in_order(patterns: list[str], path: str, owned: bool):
    quoted = ", ".join(f"'{p}'" for p in patterns)
    ownership = config(f"name: s, owners: [a], paths: [{quoted}]")
    assert ownership.requirements(path) == (("s",) if owned else (ROOT,))


# -- sentences 2, 5 (advisory) and 7: which requirements a path has --------------------------------

REQUIREMENT_ROWS = [
    # (scenario, path, requirements in file order)
    ("a file no subsystem matches belongs to root", "nova/compute/manager.py", ("root",)),
    ("a file at the top belongs to root", "setup.cfg", ("root",)),
    ("a subsystem's own file", "nova/virt/fake.py", ("virt",)),
    ("requirements add up across unrelated subsystems", "nova/virt/driver.py",
     ("virt", "driver-api")),
    ("the nearest in one parent chain wins", "nova/virt/hyperv/vmops.py", ("hyperv",)),
    ("a child's second pattern outside the parent's tree", "nova/tests/unit/virt/hyperv/t.py",
     ("hyperv",)),
    ("a file the child excludes falls back to the parent", "nova/virt/hyperv/README.rst",
     ("virt",)),
    ("noparent does not change what a subsystem owns", "nova/virt/vmwareapi/vm_util.py",
     ("vmware",)),
    ("an advisory subsystem is reported with its nearest enforcing ancestor",
     "nova/virt/xenapi/vmops.py", ("xenapi", "virt")),
    ("paths are case-sensitive", "Nova/virt/fake.py", ("root",)),
    ("OWNERS.yaml belongs to root", "OWNERS.yaml", ("root",)),
    ("only the top-level OWNERS.yaml is special", "nova/virt/OWNERS.yaml", ("virt",)),
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [row[1:] for row in REQUIREMENT_ROWS],
    ids=[row[0] for row in REQUIREMENT_ROWS],
)
def test_requirements_of_a_path(path: str, expected: tuple[str, ...]):
    assert NOVA.requirements(path) == expected


def test_an_advisory_chain_is_enforced_by_root_when_no_ancestor_enforces():
    ownership = config(
        """
        name: a, owners: [x], paths: [a/], mode: advisory
        name: b, owners: [y], paths: [a/b/], parent: a, mode: advisory
        """
    )
    assert ownership.requirements("a/b/c") == ("b", "root")


CONFIG_CLAIM_ROWS = [
    # (scenario, patterns, requirements of OWNERS.yaml)
    ("a catch-all star does not claim OWNERS.yaml", ["*"], ("root",)),
    ("a catch-all double star does not claim OWNERS.yaml", ["**"], ("root",)),
    ("a wildcard does not claim OWNERS.yaml", ["*.yaml"], ("root",)),
    ("a written double star does not claim OWNERS.yaml", ["**/OWNERS.yaml"], ("root",)),
    ("an anchored name claims it explicitly", ["/OWNERS.yaml"], ("s",)),
    ("an unanchored name claims it explicitly", ["OWNERS.yaml"], ("s",)),
    ("an explicit claim can still be excluded", ["/OWNERS.yaml", "!OWNERS.yaml"], ("root",)),
]


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [row[1:] for row in CONFIG_CLAIM_ROWS],
    ids=[row[0] for row in CONFIG_CLAIM_ROWS],
)
def test_owners_yaml_belongs_to_root_unless_claimed_explicitly(patterns, expected):
    quoted = ", ".join(f"'{p}'" for p in patterns)
    ownership = config(f"name: s, owners: [a, b], paths: [{quoted}]")
    assert ownership.requirements("OWNERS.yaml") == expected


def test_owners_yaml_is_approved_by_root_owners_only():
    ownership = config("name: all, owners: [a, b], paths: ['**']")
    assert ownership.requirements("OWNERS.yaml") == ("root",)
    assert ownership.eligible("root") == ("r1", "r2")
    verdict = evaluate(ownership, change(["OWNERS.yaml"], "a+2 b+2")).verdict
    assert verdict is Verdict.PENDING


# -- sentence 3: eligible approvers walk up to root, stopping at noparent -------------------------

ELIGIBLE_ROWS = [
    # (scenario, requirement, eligible approvers, nearest first)
    ("root's owners, aliases expanded", "root", ("carol", "dave", "erin")),
    ("a child of root: its owners, then root's", "virt",
     ("lena", "victor", "carol", "dave", "erin")),
    ("a grandchild: owners, parent's, root's", "hyperv",
     ("alice", "bob@example.org", "lena", "victor", "carol", "dave", "erin")),
    ("nested aliases are expanded", "driver-api",
     ("dora", "alice", "bob@example.org", "carol", "dave", "erin")),
    ("a person in two tiers is listed once", "libvirt",
     ("lena", "luke", "victor", "carol", "dave", "erin")),
    ("noparent: the subsystem's owners count, its ancestors' do not", "vmware",
     ("victor", "wendy")),
    ("advisory subsystems still have eligible approvers", "xenapi",
     ("xavier", "yuri", "lena", "victor", "carol", "dave", "erin")),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [row[1:] for row in ELIGIBLE_ROWS],
    ids=[row[0] for row in ELIGIBLE_ROWS],
)
def test_eligible_approvers(name: str, expected: tuple[str, ...]):
    assert NOVA.eligible(name) == expected


INLINE_ELIGIBLE_ROWS = [
    # (scenario, config kwargs, requirement, eligible)
    ("noparent in the middle of a chain stops the walk there",
     {"subsystems": """
        name: a, owners: [x], paths: [a/], noparent: true
        name: b, owners: [y], paths: [a/b/], parent: a
        """},
     "b", ("y", "x")),
    ("user: forces a username even when an alias has that name",
     {"groups": "core: [c1, c2]", "subsystems": "name: s, owners: ['user:core'], paths: [s/]"},
     "s", ("core", "r1", "r2")),
    ("gerrit: groups are listed as written",
     {"subsystems": "name: s, owners: ['gerrit:Nova Core', z], paths: [s/]"},
     "s", ("gerrit:Nova Core", "z", "r1", "r2")),
    ("emails are listed as written and aliases inside aliases expanded",
     {"groups": "inner: [Ann@Example.org], outer: [inner, bo]",
      "subsystems": "name: s, owners: [outer], paths: [s/]"},
     "s", ("Ann@Example.org", "bo", "r1", "r2")),
]


@pytest.mark.parametrize(
    ("kwargs", "name", "expected"),
    [row[1:] for row in INLINE_ELIGIBLE_ROWS],
    ids=[row[0] for row in INLINE_ELIGIBLE_ROWS],
)
def test_eligible_approvers_inline(kwargs: dict, name: str, expected: tuple[str, ...]):
    assert config(**kwargs).eligible(name) == expected


# -- sentences 4, 5 and 6: verdicts ---------------------------------------------------------------

NOVA_VERDICT_ROWS = [
    # (scenario, files, votes, expected verdict)
    ("root needs its approvals count of distinct owners", ["nova/compute/api.py"],
     "carol+2 dave+2", Verdict.APPROVED),
    ("one root approval of two is pending", ["nova/compute/api.py"], "carol+2", Verdict.PENDING),
    ("the same person twice counts once", ["nova/compute/api.py"], "carol+2 carol+2",
     Verdict.PENDING),
    ("a vote below approve does not count", ["nova/compute/api.py"], "carol+1 dave+2",
     Verdict.PENDING),
    ("a non-owner's approval does not count", ["nova/compute/api.py"], "carol+2 alice+2",
     Verdict.PENDING),
    ("a person's latest vote is the one that counts", ["nova/compute/api.py"],
     "carol+2 dave+2 dave+0", Verdict.PENDING),
    ("a subsystem owner approves", ["nova/virt/fake.py"], "victor+2", Verdict.APPROVED),
    ("a parent's owner approves for the child", ["nova/virt/hyperv/vmops.py"], "lena+2",
     Verdict.APPROVED),
    ("root's owners approve anywhere below", ["nova/virt/hyperv/vmops.py"], "erin+2",
     Verdict.APPROVED),
    ("noparent keeps root's owners from approving", ["nova/virt/vmwareapi/driver.py"],
     "carol+2 dave+2", Verdict.PENDING),
    ("noparent subsystem approved by its own owner", ["nova/virt/vmwareapi/driver.py"],
     "wendy+2", Verdict.APPROVED),
    ("approvals: 2 needs two distinct eligible approvers", ["nova/virt/libvirt/driver.py"],
     "lena+2", Verdict.PENDING),
    ("approvals: 2 may be met by a parent's owner", ["nova/virt/libvirt/driver.py"],
     "lena+2 victor+2", Verdict.APPROVED),
    ("requirements add up: one met is not enough", ["nova/virt/driver.py"], "lena+2",
     Verdict.PENDING),
    ("requirements add up: both met", ["nova/virt/driver.py"], "lena+2 dora+2",
     Verdict.APPROVED),
    ("one ancestor owner may meet several requirements", ["nova/virt/driver.py"], "carol+2",
     Verdict.APPROVED),
    ("every file's requirements count", ["nova/virt/fake.py", "nova/virt/libvirt/driver.py"],
     "victor+2", Verdict.PENDING),
    ("an eligible approver's veto blocks", ["nova/virt/fake.py"], "lena+2 victor-2",
     Verdict.BLOCKED),
    ("a veto blocks even when approvals are met", ["nova/virt/driver.py"],
     "lena+2 dora+2 alice-2", Verdict.BLOCKED),
    ("a veto by someone not eligible does not block", ["nova/virt/fake.py"], "lena+2 alice-2",
     Verdict.APPROVED),
    ("a vote above veto is no veto", ["nova/virt/fake.py"], "lena+2 victor-1", Verdict.APPROVED),
    ("root_veto: a root owner's veto blocks a noparent subsystem", ["nova/virt/vmwareapi/x.py"],
     "wendy+2 carol-2", Verdict.BLOCKED),
    ("a veto wins over pending", ["nova/virt/fake.py"], "victor-2", Verdict.BLOCKED),
    ("advisory: its files need the enforcing ancestor", ["nova/virt/xenapi/vmops.py"],
     "xavier+2", Verdict.PENDING),
    ("advisory: its own approval is not needed", ["nova/virt/xenapi/vmops.py"], "lena+2",
     Verdict.APPROVED),
    ("advisory: its owners' veto is reported, not enforced", ["nova/virt/xenapi/vmops.py"],
     "lena+2 xavier-2", Verdict.APPROVED),
    ("a rename needs the old path's owners", [ChangedFile("nova/virt/vmwareapi/vmops.py",
     old_path="nova/virt/hyperv/vmops.py")], "wendy+2", Verdict.PENDING),
    ("a rename is approved when both sides are", [ChangedFile("nova/virt/vmwareapi/vmops.py",
     old_path="nova/virt/hyperv/vmops.py")], "wendy+2 alice+2", Verdict.APPROVED),
    ("a veto on the old path's side blocks a rename", [ChangedFile(
     "nova/virt/vmwareapi/vmops.py", old_path="nova/virt/hyperv/vmops.py")],
     "wendy+2 alice+2 bob@example.org-2", Verdict.BLOCKED),
    ("emails compare exactly, as Gerrit keeps them apart", ["nova/virt/hyperv/vmops.py"],
     "BOB@Example.ORG+2", Verdict.PENDING),
    ("a username that looks like an owner's email is not that email",
     ["nova/virt/hyperv/vmops.py"], "user:bob@example.org+2", Verdict.PENDING),
    ("an empty change needs root", [], "carol+2", Verdict.PENDING),
]


@pytest.mark.parametrize(
    ("files", "vote_spec", "expected"),
    [row[1:] for row in NOVA_VERDICT_ROWS],
    ids=[row[0] for row in NOVA_VERDICT_ROWS],
)
def test_nova_verdicts(files, vote_spec: str, expected: Verdict):
    assert evaluate(NOVA, change(files, vote_spec)).verdict is expected


POLICY_CONFIG = """
name: s, owners: [a, b, s1], paths: [s/]
name: t, owners: [s1], paths: [s/t/], parent: s, noparent: true
"""

POLICY_ROWS = [
    # (scenario, policy, file, votes, owner, uploader, verdict)
    ("the change owner's approval does not count", "", "s/x", "a+2", "a", "u", Verdict.PENDING),
    ("the uploader's approval does not count", "", "s/x", "a+2", "o", "a", Verdict.PENDING),
    ("another owner's approval counts", "", "s/x", "b+2", "a", "a", Verdict.APPROVED),
    ("self_approval lets the owner approve", "self_approval: true", "s/x", "a+2", "a", "a",
     Verdict.APPROVED),
    ("self_approval lets the uploader approve", "self_approval: true", "s/x", "a+2", "o", "a",
     Verdict.APPROVED),
    # Sentence 4 says the author's votes "do not count" and docs/format.md reads that as all
    # of them; sentence 5 alone ("any eligible approver ... votes <= veto") would let it block.
    ("the owner's own veto does not count either", "", "s/x", "a-2 b+2", "a", "a",
     Verdict.APPROVED),
    ("with self_approval the owner's veto blocks", "self_approval: true", "s/x", "a-2 b+2",
     "a", "a", Verdict.BLOCKED),
    ("root_veto: true (the default) lets a root owner block anywhere", "", "s/t/x",
     "s1+2 r1-2", "o", "o", Verdict.BLOCKED),
    ("root_veto: false: a root owner outside the chain cannot block", "root_veto: false",
     "s/t/x", "s1+2 r1-2", "o", "o", Verdict.APPROVED),
    ("root_veto: false: a root owner inside the chain still blocks", "root_veto: false",
     "s/x", "a+2 r1-2", "o", "o", Verdict.BLOCKED),
    # Which votes count: never a deactivated account's, whatever it voted while active.
    ("an inactive owner's approval does not count", "", "s/x", "b!+2", "o", "o",
     Verdict.PENDING),
    ("an inactive owner's veto does not block", "", "s/x", "a!-2 b+2", "o", "o",
     Verdict.APPROVED),
    ("an inactive root owner's veto does not block", "", "s/t/x", "s1+2 r1!-2", "o", "o",
     Verdict.APPROVED),
    ("with self_approval an inactive owner's approval does not count either",
     "self_approval: true", "s/x", "a!+2", "a", "a", Verdict.PENDING),
    ("a custom approve threshold", "approve: 1", "s/x", "b+1", "o", "o", Verdict.APPROVED),
    ("a custom veto threshold", "veto: -1", "s/x", "b+2 a-1", "o", "o", Verdict.BLOCKED),
]


@pytest.mark.parametrize(
    ("policy", "path", "vote_spec", "owner", "uploader", "expected"),
    [row[1:] for row in POLICY_ROWS],
    ids=[row[0] for row in POLICY_ROWS],
)
def test_policy(policy, path, vote_spec, owner, uploader, expected):
    ownership = config(POLICY_CONFIG, policy=policy)
    assert evaluate(ownership, change([path], vote_spec, owner, uploader)).verdict is expected


def test_requirement_results_report_files_and_voters():
    rename = ChangedFile("nova/virt/vmwareapi/vmops.py", old_path="nova/virt/hyperv/vmops.py")
    result = evaluate(NOVA, change([rename, "nova/virt/fake.py"], "wendy+2 lena-2"))
    by_name = {r.subsystem: r for r in result.requirements}
    assert list(by_name) == ["virt", "hyperv", "vmware"]  # file order of the config
    assert by_name["vmware"].files == ("nova/virt/vmwareapi/vmops.py",)
    assert by_name["hyperv"].files == ("nova/virt/hyperv/vmops.py",)
    assert by_name["vmware"].approved_by == ("wendy",)
    assert by_name["vmware"].met and not by_name["hyperv"].met
    assert by_name["hyperv"].vetoed_by == ("lena",)
    assert by_name["vmware"].vetoed_by == ()  # lena is not eligible for noparent vmware
    assert result.verdict is Verdict.BLOCKED


def test_advisory_requirement_is_reported_with_its_state():
    result = evaluate(NOVA, change(["nova/virt/xenapi/vmops.py"], "lena+2 xavier-2"))
    xenapi = next(r for r in result.requirements if r.subsystem == "xenapi")
    assert (xenapi.mode, xenapi.met, xenapi.vetoed_by) == ("advisory", True, ("xavier",))
    assert result.verdict is Verdict.APPROVED


def test_gerrit_groups_count_only_through_the_resolver():
    ownership = config("name: s, owners: ['gerrit:Nova Core'], paths: [s/]")
    voted = change(["s/x"], "gina+2")
    unresolved = evaluate(ownership, voted)
    assert unresolved.verdict is Verdict.PENDING
    assert unresolved.unresolved_groups == ("gerrit:Nova Core",)
    members = {"Nova Core": ["gina", "hal"]}
    resolved = evaluate(ownership, voted, members.__getitem__)
    assert resolved.verdict is Verdict.APPROVED
    assert resolved.unresolved_groups == ()


def test_an_inactive_member_of_a_gerrit_group_does_not_approve():
    """Gerrit still lists a deactivated account among a group's members; the vote's own
    account says it is inactive, and that is enough."""
    ownership = config("name: s, owners: ['gerrit:Nova Core'], paths: [s/]")
    members = {"Nova Core": ["gina", "hal"]}
    assert evaluate(ownership, change(["s/x"], "gina!+2"), members.__getitem__).verdict is (
        Verdict.PENDING
    )


# -- suggestion ------------------------------------------------------------------------------------

# Six subsystems each needing one approval: x may approve four of them, p and q three each.  A
# greedy cover starts with x and then still needs p and q; the smallest cover is {p, q}.
GREEDY_TRAP = """
name: a, owners: [x, p], paths: [a/]
name: b, owners: [x, p], paths: [b/]
name: c, owners: [x, q], paths: [c/]
name: d, owners: [x, q], paths: [d/]
name: e, owners: [p, z1], paths: [e/]
name: f, owners: [q, z2], paths: [f/]
"""

VIRT, DRIVER_API = {"lena", "victor"}, {"dora", "alice", "bob@example.org"}
CORE = {"carol", "dave", "erin"}

SUGGESTION_ROWS = [
    # (scenario, ownership, files, votes, change owner, [(pool, how many from it)])
    ("a subsystem's own owners are preferred over core", NOVA, ["nova/virt/hyperv/vmops.py"],
     "", "o", [({"alice", "bob@example.org"}, 1)]),
    ("one owner per unmet requirement", NOVA, ["nova/virt/driver.py"], "", "o",
     [(VIRT, 1), (DRIVER_API, 1)]),
    ("approvals: 2 asks two owners", NOVA, ["nova/virt/libvirt/driver.py"], "", "o",
     [({"lena", "luke"}, 2)]),
    ("never someone who already voted", NOVA, ["nova/virt/libvirt/driver.py"], "lena+2", "o",
     [({"luke"}, 1)]),
    ("never someone who voted against", NOVA, ["nova/virt/fake.py"], "lena-1", "o",
     [({"victor"}, 1)]),
    ("never the author", NOVA, ["nova/virt/fake.py"], "", "lena", [({"victor"}, 1)]),
    ("core is asked when the subsystem's owners cannot help", NOVA, ["nova/virt/fake.py"],
     "victor+1", "lena", [(CORE, 1)]),
    ("the smallest set, not a greedy one", config(GREEDY_TRAP),
     [f"{d}/x" for d in "abcdef"], "", "o", [({"p", "q"}, 2)]),
    ("nothing to suggest for an approved change", NOVA, ["nova/virt/fake.py"], "lena+2", "o",
     []),
    ("a noparent subsystem never pulls in core", NOVA, ["nova/virt/vmwareapi/x.py"], "",
     "victor", [({"wendy"}, 1)]),
]


@pytest.mark.parametrize(
    ("ownership", "files", "vote_spec", "owner", "draws"),
    [row[1:] for row in SUGGESTION_ROWS],
    ids=[row[0] for row in SUGGESTION_ROWS],
)
def test_suggested_reviewers(ownership, files, vote_spec, owner, draws):
    suggested = evaluate(ownership, change(files, vote_spec, owner)).suggested_reviewers
    assert len(suggested) == len(set(suggested)) == sum(n for _, n in draws)
    for pool, n in draws:
        assert len(pool & set(suggested)) == n, (pool, suggested)


def test_suggestions_are_stable_for_one_change_number():
    files = ["nova/compute/api.py", "nova/virt/driver.py"]
    first = evaluate(NOVA, change(files, number=4242)).suggested_reviewers
    for _ in range(5):
        assert evaluate(NOVA, change(files, number=4242)).suggested_reviewers == first
    assert evaluate(NOVA, change(files[::-1], number=4242)).suggested_reviewers == first


def test_suggestions_vary_across_change_numbers():
    picks = {
        evaluate(NOVA, change(["nova/compute/api.py"], number=n)).suggested_reviewers
        for n in range(1, 60)
    }
    assert {frozenset(p) for p in picks} == {
        frozenset(p) for p in [("carol", "dave"), ("carol", "erin"), ("dave", "erin")]
    }


def test_suggestions_can_be_capped():
    result = evaluate(NOVA, change(["nova/virt/driver.py"]), suggestions=1)
    assert len(result.suggested_reviewers) == 1


def test_an_unresolved_gerrit_group_is_suggested_as_itself():
    ownership = config("name: s, owners: ['gerrit:Nova Core'], paths: [s/]")
    assert evaluate(ownership, change(["s/x"])).suggested_reviewers == ("gerrit:Nova Core",)


def test_a_capped_suggestion_asks_for_what_blocks_before_an_advisory_trial():
    ownership = config(
        """
        name: trial, owners: [xavier], paths: [trial/], mode: advisory
        name: hv, owners: [alice], paths: [hv/]
        """,
        root="[carol, dave]",
    )
    files = ["trial/a.py", "hv/b.py"]
    for number in range(1, 40):
        full = evaluate(ownership, change(files, number=number)).suggested_reviewers
        capped = evaluate(ownership, change(files, number=number), suggestions=2)
        assert "xavier" in full
        assert "alice" in capped.suggested_reviewers
        assert "xavier" not in capped.suggested_reviewers
