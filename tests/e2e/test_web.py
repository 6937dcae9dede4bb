"""End to end: the web pages, the API and the Gerrit dashboards on the demo's Nova project.

zed pushes six changes (one with a hostile subject and file name, one private), alice
approves two for Hyper-V.  Then:

- each dashboard section that `owners gerrit-setup --dashboards` wrote (the `nova` fixture
  runs it) is queried on Gerrit and must return exactly the open changes the engine says need
  the subsystem;
- the API answers alice, zed and an anonymous visitor each what Gerrit shows them;
- headless Chromium (Debian's, driven by Playwright) browses the tree, opens a subsystem and
  one of its changes, follows the link in the bot's comment and signs in as two users,
  saving a screenshot of each page (to $OWNERS_SCREENSHOTS, else the test's tmp folder).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from novademo import NOVA_OWNERS, Nova, password

from owners.engine import Ownership, load_config
from owners.gerrit.dashboards import configure_dashboards
from owners.gerrit.settings import Settings
from owners.gerrit.verdict import compile_tree

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_SUBJECT = "vmware: <img src=x onerror=alert(1)> fix"
HOSTILE_FILE = 'nova/virt/vmwareapi/"><script>alert(2)</script>.py'
CHANGES = {
    "hyperv": ({"nova/virt/hyperv/driver.py": "# faster\n"}, "hyperv: speed up the driver"),
    "core": ({"nova/compute/api.py": "# new API\n"}, "compute: new API"),
    "both": (
        {"nova/virt/hyperv/driver.py": "# x\n", "nova/compute/api.py": "# y\n"},
        "hyperv and compute",
    ),
    "hostile": ({"nova/virt/vmwareapi/vm.py": "# v\n", HOSTILE_FILE: "# !\n"}, HOSTILE_SUBJECT),
    "driver-api": (
        {"nova/virt/driver.py": "# api\n", "nova/virt/libvirt/host.py": "# l\n"},
        "virt: driver API and libvirt",
    ),
}


@pytest.fixture(scope="module")
def changes(nova: Nova) -> dict[str, int]:
    numbers = {name: nova.push_change("zed", files, s) for name, (files, s) in CHANGES.items()}
    for number in numbers.values():
        nova.wait_for_comment(number)
    nova.vote("alice", numbers["hyperv"], 2)
    nova.vote("alice", numbers["both"], 2)
    nova.wait_for_bot(numbers["hyperv"], 1)
    nova.wait_for_comment(numbers["both"], 2)
    private = nova.push_change(
        "zed", {"nova/virt/hyperv/secret.py": "# s\n"}, "hyperv: a private change"
    )
    nova.rest("zed").post(f"changes/{private}/private")
    numbers["private"] = private
    nova.wait_until_idle()
    return numbers


def api(nova: Nova, path: str, user: str | None = None) -> requests.Response:
    auth = (user, password(user)) if user else None
    return requests.get(f"{nova.service_url}/api/v1{path}", auth=auth, timeout=30)


# -- Gerrit dashboards ---------------------------------------------------------------------------


def test_dashboard_queries_return_the_changes_that_need_each_subsystem(
    nova: Nova, changes: dict[str, int]
) -> None:
    ownership = Ownership(load_config(NOVA_OWNERS.read_bytes()))
    public = {n for name, n in changes.items() if name != "private"}
    _check_dashboards(nova, ownership, "master", public)


def _check_dashboards(nova: Nova, ownership: Ownership, branch: str, numbers: set[int]) -> None:
    """Each section of each subsystem's dashboard, queried on Gerrit: together they return
    exactly the changes (of `numbers`) the engine says need the subsystem."""
    listed = nova.gerrit.rest.get(f"projects/{nova.project}/dashboards/")
    ids = {d["id"] for d in listed}
    assert {f"owners:{s.name}" for s in ownership.config.all_subsystems} <= ids
    files: dict[int, list[str]] = {}
    for number in numbers:
        info = nova.gerrit.rest.get(f"changes/{number}?o=CURRENT_REVISION&o=CURRENT_FILES")
        files[number] = list(info["revisions"][info["current_revision"]]["files"])
    approved = {n for n in numbers if nova.bot_vote(n) == 1}
    for sub in ownership.config.all_subsystems:
        board = nova.gerrit.rest.get(
            f"projects/{nova.project}/dashboards/{quote(f'owners:{sub.name}', safe='')}"
        )
        found: dict[str, set[int]] = {}
        for section in board["sections"]:
            query = f"project:{nova.project} branch:{branch} status:open {section['query']}"
            answer = nova.gerrit.rest.get(f"changes/?{urlencode({'q': query})}")
            found[section["name"]] = {c["_number"] for c in answer} & numbers
        needing = {
            n for n in numbers if any(sub.name in ownership.requirements(f) for f in files[n])
        }
        union = set().union(*found.values())
        assert union == needing, (sub.name, found, needing)
        done = found[f"Approved by every owner ({sub.name} among them)"]
        assert done == needing & approved, sub.name
        assert not found[f"Needs {sub.name}"] & found[f"Approved by {sub.name}, waiting for others"]


def test_the_needs_hashtags_are_the_bots_and_an_owners_edit_is_set_right(nova: Nova) -> None:
    """*Needs S* reads `owners-needs-S`, which the bot keeps: the change's owner removing it
    (or adding another) hides nothing for longer than the bot takes to answer the event."""
    number = nova.push_change("zed", {"nova/virt/hyperv/tags.py": "x = 1\n"}, "hyperv: tags")

    def needs() -> set[str]:
        tags = nova.change(number).get("hashtags") or ()
        return {tag for tag in tags if tag.startswith("owners-needs-")}

    assert nova.wait_for("the bot's hashtag", needs) == {"owners-needs-hyperv"}
    nova.rest("zed").post(
        f"changes/{number}/hashtags",
        {"add": ["owners-needs-libvirt"], "remove": ["owners-needs-hyperv"]},
    )
    nova.wait_for("the hashtags set right", lambda: needs() == {"owners-needs-hyperv"})
    nova.vote("alice", number, 2)  # a hyperv owner approves
    assert nova.wait_for_bot(number, 1) == 1
    nova.wait_for("no hashtag once approved", lambda: needs() == set())


# -- the API as three viewers ---------------------------------------------------------------------


def test_api_shows_each_viewer_what_gerrit_shows_them(nova: Nova, changes: dict[str, int]) -> None:
    private = changes["private"]
    assert api(nova, f"/c/{private}").status_code == 404
    assert api(nova, f"/c/{private}", "alice").status_code == 404
    mine = api(nova, f"/c/{private}", "zed")
    assert mine.status_code == 200 and mine.json()["subject"] == "hyperv: a private change"
    queues = {
        who: [c["change"] for c in api(nova, "/p/nova/+/master/s/hyperv", who).json()["queue"]]
        for who in (None, "alice", "zed")
    }
    assert private not in queues[None] and private not in queues["alice"]
    assert private in queues["zed"]
    assert queues[None] == sorted(queues[None])  # oldest first
    wrong = requests.get(
        f"{nova.service_url}/api/v1/c/{changes['core']}", auth=("alice", "nope"), timeout=30
    )
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers


def test_api_tree_search_and_traversal(nova: Nova, changes: dict[str, int]) -> None:
    root = api(nova, "/p/nova/+/master/tree/").json()
    readme = next(e for e in root["entries"] if e["name"] == "README.rst")
    assert readme["root_only"]
    found = api(nova, "/p/nova/+/master/tree/?q=hyperv").json()["matches"]
    assert "nova/virt/hyperv/driver.py" in found
    for bad in ("nova/../../etc/passwd", "nova/%2e%2e/x", "a/" * 3000):
        assert api(nova, f"/p/nova/+/master/tree/{bad}").status_code in (400, 404)
    assert api(nova, "/p/All-Users/+/master/tree/").status_code == 404
    for who in (None, "alice"):  # Gerrit's own projects have no branch to browse
        projects = api(nova, "/", who).json()["projects"]
        assert "nova" in projects and not {"All-Projects", "All-Users"} & set(projects)


# -- a real browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; missing either fails, never skips."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium"
    from playwright.sync_api import sync_playwright  # the test extra installs it

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("OWNERS_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


ALERTS: list[str] = []


def _page(browser: Any, user: str | None) -> Any:
    """A page in a fresh context (its own cookies and credentials); dialogs are recorded."""
    credentials = {"username": user, "password": password(user)} if user else None
    viewport = {"width": 1280, "height": 800}
    context = browser.new_context(http_credentials=credentials, viewport=viewport)
    page = context.new_page()
    page.on("dialog", lambda dialog: (ALERTS.append(dialog.message), dialog.dismiss()))
    return page


def _signed_in(browser: Any, nova: Nova, user: str | None) -> Any:
    """`_page`, signed in through the sign-in link: the browser sends the credentials only
    once challenged, then with every request."""
    page = _page(browser, user)
    if user:
        page.goto(f"{nova.service_url}/signin")
        assert f"signed in as {user}" in page.inner_text("header")
    return page


def test_browse_tree_subsystem_change_and_the_bots_link(
    nova: Nova, changes: dict[str, int], browser: Any, shots: Path
) -> None:
    page = _page(browser, None)
    page.goto(f"{nova.service_url}/")
    page.click("ul.projects a:text-is('nova')")
    assert page.url.endswith("/p/nova/+/master/tree/")
    assert page.locator("tr.unowned").count() >= 1  # README.rst: only root
    page.click("tr[data-path='nova'] button.toggle")  # open in place (tree.js, /api/v1)
    page.wait_for_selector("tr.opened[data-path='nova/virt']")
    page.click("tr[data-path='nova/virt'] button.toggle")
    page.wait_for_selector("tr.opened[data-path='nova/virt/hyperv']")
    page.screenshot(path=str(shots / "tree-root.png"), full_page=True)
    page.goto(f"{nova.service_url}/p/nova/+/master/tree/")
    page.click("table.tree a:has-text('nova/')")
    page.click("table.tree a:has-text('virt/')")
    assert "nova/virt" in page.url
    page.screenshot(path=str(shots / "tree.png"), full_page=True)
    page.fill("input[name=q]", "hyperv")
    page.click("button:text('Find')")
    page.click("a:text('nova/virt/hyperv/driver.py')")
    assert "tree/nova/virt/hyperv/driver.py" in page.url
    assert "hyperv" in page.inner_text("main")
    page.screenshot(path=str(shots / "file.png"), full_page=True)

    page.click("a.req:has-text('hyperv')")
    assert page.url.endswith("/s/hyperv")
    queue = page.locator("table.queue a.change")
    numbers = [int(queue.nth(i).inner_text()) for i in range(queue.count())]
    assert changes["hyperv"] in numbers and changes["private"] not in numbers
    page.screenshot(path=str(shots / "subsystem.png"), full_page=True)
    page.click(f"table.queue a.change:text('{changes['both']}')")
    assert page.url.endswith(f"/c/{changes['both']}")
    assert page.inner_text("#verdict") == "PENDING"
    page.screenshot(path=str(shots / "change.png"), full_page=True)

    comment = nova.bot_messages(changes["hostile"])[-1]
    link = re.search(r"Details: (\S+)", comment)
    assert link, comment
    page.goto(link.group(1))
    assert page.url == f"{nova.service_url}/c/{changes['hostile']}"
    text = page.inner_text("main")
    assert HOSTILE_SUBJECT in text and "<script>alert(2)</script>" in text  # shown as text
    page.click("text=nova/virt/vmwareapi/vm.py")
    assert "Why" in page.inner_text("main")
    page.screenshot(path=str(shots / "change-hostile.png"), full_page=True)

    page.goto(f"{nova.service_url}/p/nova/+/master/report?days=30")
    assert page.locator("svg.chart").count() == 5  # with the first owner review and status
    assert "Ownership health" in page.inner_text("main")
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    assert ALERTS == []  # no injected script ran


def test_sign_in_as_two_users(
    nova: Nova, changes: dict[str, int], browser: Any, shots: Path
) -> None:
    private = f"{nova.service_url}/c/{changes['private']}"
    anonymous = _page(browser, None)
    assert anonymous.goto(private).status == 404
    for user, status in (("zed", 200), ("alice", 404)):
        page = _page(browser, user)
        page.goto(f"{nova.service_url}/p/nova/+/master/tree/")
        page.click("#signin")
        assert f"signed in as {user}" in page.inner_text("header")
        assert page.goto(private).status == status
        page.screenshot(path=str(shots / f"signed-in-{user}.png"), full_page=True)


# -- every kind of owner, a Gerrit group, a cold cache, an anonymous viewer ----------------------

KINDS_BRANCH = "web-kinds"  # with an included file
GROUP_BRANCH = "web-group"  # without
GROUPS = {KINDS_BRANCH: "Web Libvirt Team", GROUP_BRANCH: "Web Group Team"}
KINDS_OWNERS = """version: 1
include: [nova/virt/hyperv/OWNERS.yaml]
groups:
  nova-core: [carol, dave, erin]
root:
  owners: [nova-core]
subsystems:
  - name: compute
    paths: [nova/compute/]
    owners: [alice]
  - name: virt
    paths: [nova/virt/]
    owners: [victor@example.org]
  - name: libvirt
    paths: [nova/virt/libvirt/]
    owners: ["gerrit:GROUP"]
    parent: virt
"""
KINDS_INCLUDED = """version: 1
groups:
  hv-team: [alice, hana]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [hv-team]
    parent: virt
"""
KINDS_FILES = {
    "README.rst": "# r\n",
    "nova/compute/api.py": "# c\n",
    "nova/virt/driver.py": "# d\n",
    "nova/virt/libvirt/host.py": "# l\n",
    "nova/virt/hyperv/driver.py": "# h\n",
}


@pytest.fixture(scope="module")
def kinds_changes(nova: Nova) -> dict[str, int]:
    """Branches `web-kinds` and `web-group`: an alias, a username, an email and a Gerrit group
    new to the service (so every viewer's group cache is cold), and on `web-kinds` an included
    file; on each a change touching every subsystem."""
    numbers = {}
    for branch, group in GROUPS.items():
        # The bot must see the groups OWNERS.yaml names (docs/deployment.md): visible to all.
        nova.gerrit.rest.put(
            f"groups/{quote(group, safe='')}", {"members": ["lena"], "visible_to_all": True}
        )
        owners = KINDS_OWNERS.replace("GROUP", group)
        files = {"OWNERS.yaml": owners, "nova/virt/hyperv/OWNERS.yaml": KINDS_INCLUDED}
        if branch == GROUP_BRANCH:
            files = {"OWNERS.yaml": owners.replace("include: [nova/virt/hyperv/OWNERS.yaml]\n", "")}
        nova.create_branch(branch, files)
        numbers[branch] = nova.push_change("zed", KINDS_FILES, "every kind of owner", branch=branch)
    for number in numbers.values():
        nova.wait_for_comment(number)
    return numbers


@pytest.mark.parametrize("branch", [GROUP_BRANCH, KINDS_BRANCH])
def test_a_gerrit_group_with_a_cold_cache_for_an_anonymous_viewer(
    nova: Nova, kinds_changes: dict[str, int], browser: Any, branch: str
) -> None:
    """Each page of a branch naming a `gerrit:` group answered anonymous viewers 404 (Gerrit
    answers them 403 for groups) and its change page 500 to all (a resolver calling itself);
    with an included file, the pages read the root file alone and showed it invalid."""
    group, number, included = GROUPS[branch], kinds_changes[branch], branch == KINDS_BRANCH
    hana = ["hana"] if included else []
    base = f"{nova.service_url}/p/nova/+/{branch}"
    pages = {  # address: names it shows, whether it shows the group
        f"{nova.service_url}/c/{number}": (["alice", "victor@example.org", "carol", *hana], True),
        f"{base}/tree/nova/virt": (["victor@example.org", *hana], True),
        f"{base}/tree/nova/virt/libvirt": ([], True),
        f"{base}/tree/nova/virt/libvirt/host.py": ([], True),
        f"{base}/s/libvirt": ([], True),
        f"{base}/s/root": (["carol", "dave", "erin"], False),
        **({f"{base}/s/hyperv": (["alice", "hana"], False)} if included else {}),
    }
    anonymous = _page(browser, None)
    for address, (names, shows_group) in pages.items():
        answer = anonymous.goto(address)
        assert answer is not None and answer.status == 200, address
        text = anonymous.inner_text("main")
        assert "invalid" not in text, (address, text)
        if shows_group:
            assert f"gerrit:{group}" in text and "(not visible to you)" in text, address
        assert all(name in text for name in names), (address, text)
    anonymous.goto(f"{nova.service_url}/c/{number}")
    assert anonymous.inner_text("#verdict") == "PENDING"
    requirements = api(nova, f"/c/{number}").json()["requirements"]
    expected = {"root", "compute", "virt", "libvirt", *(["hyperv"] if included else [])}
    assert {r["subsystem"] for r in requirements} == expected
    alice = _signed_in(browser, nova, "alice")
    assert alice.goto(f"{base}/s/libvirt").status == 200
    assert f"gerrit:{group}: lena" in alice.inner_text("main")


def test_the_dashboards_of_a_branch_that_delegates(
    nova: Nova, kinds_changes: dict[str, int]
) -> None:
    """`gerrit-setup --dashboards` read OWNERS.yaml without the files it includes, and so
    stopped on such a branch ("invalid"); hyperv, defined in the included file, now has its
    dashboard, and each finds its changes."""
    owners = KINDS_OWNERS.replace("GROUP", GROUPS[KINDS_BRANCH])
    included = (("nova/virt/hyperv/OWNERS.yaml", KINDS_INCLUDED.encode()),)
    ownership, problems = compile_tree(owners.encode(), included)
    assert ownership is not None, problems
    compute = nova.push_change(
        "zed", {"nova/compute/api.py": "# c2\n"}, "compute alone", branch=KINDS_BRANCH
    )
    nova.wait_for_comment(compute)
    settings = Settings.from_env(nova.service_env(user="admin"))
    try:
        configure_dashboards(settings, nova.project, KINDS_BRANCH)
        _check_dashboards(nova, ownership, KINDS_BRANCH, {kinds_changes[KINDS_BRANCH], compute})
    finally:
        configure_dashboards(settings, nova.project)  # master's again (one set per project)


# -- error pages, assets, a phone ---------------------------------------------------------------


def test_error_pages_are_pages_and_name_who_is_signed_in(
    nova: Nova, changes: dict[str, int], browser: Any
) -> None:
    for user in (None, "zed"):
        page = _signed_in(browser, nova, user)
        for address in ("/c/abc", "/c/999999", "/p/nova/+/master/tree/nothing"):
            answer = page.goto(nova.service_url + address)
            assert answer is not None and answer.status == 404, address
            assert answer.headers["content-type"].startswith("text/html"), address
            header = page.inner_text("header")
            assert (f"signed in as {user}" if user else "anonymous") in header, address
    plain = api(nova, "/c/abc")  # no browser: JSON
    assert plain.status_code == 404 and "error" in plain.json()


def test_assets_are_cached_and_there_is_a_favicon(
    nova: Nova, changes: dict[str, int], browser: Any
) -> None:
    page = _signed_in(browser, nova, "zed")
    answers: dict[str, Any] = {}
    page.on("response", lambda r: answers.setdefault(r.url.split("?")[0], r))
    page.goto(f"{nova.service_url}/p/nova/+/master/tree/")
    assert answers[page.url].headers["cache-control"] == "private, no-store"
    css = answers[f"{nova.service_url}/static/owners/style.css"]
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = page.locator("link[rel=icon]").get_attribute("href")
    fetched = page.request.get(nova.service_url + icon)
    assert fetched.status == 200 and fetched.headers["content-type"].startswith("image/svg+xml")
    assert page.request.get(f"{nova.service_url}/favicon.ico").status == 200


PHONE = {"width": 375, "height": 740}
# Every path segment on the page, and whether its text runs over more than one line.
BROKEN_SEGMENTS = """() => {
  const broken = [];
  for (const el of document.querySelectorAll("main code, main a, main h1, main li")) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      let start = 0;
      for (const word of node.data.split(/[/\\s]/)) {
        if (word.length > 1 && word.length < 24) {
          const range = document.createRange();
          range.setStart(node, start);
          range.setEnd(node, start + word.length);
          const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (lines.size > 1) broken.push(word);
        }
        start += word.length + 1;
      }
    }
  }
  return broken;
}"""


def test_pages_fit_a_phone(
    nova: Nova, changes: dict[str, int], kinds_changes: dict[str, int], browser: Any, shots: Path
) -> None:
    """At 375 px no page is wider than the screen, and no file name or word shorter than a
    line is broken across lines (paths wrap after a `/`)."""
    context = browser.new_context(viewport=PHONE, http_credentials=None)
    page = context.new_page()
    addresses = {
        "index": "/",
        "tree-root": "/p/nova/+/master/tree/",
        "tree": "/p/nova/+/master/tree/nova/virt",
        "file": "/p/nova/+/master/tree/nova/virt/hyperv/driver.py",
        "search": "/p/nova/+/master/tree/?q=hyperv",
        "subsystem": "/p/nova/+/master/s/hyperv",
        "change": f"/c/{changes['both']}",
        "change-hostile": f"/c/{changes['hostile']}?explain=nova/virt/vmwareapi/vm.py",
        "change-kinds": f"/c/{kinds_changes[KINDS_BRANCH]}",
        "report": "/p/nova/+/master/report?days=30",
        "error": "/c/abc",
    }
    for name, address in addresses.items():
        page.goto(nova.service_url + address)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (address, width)
        assert page.evaluate(BROKEN_SEGMENTS) == [], address
        (shots / "phone").mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "phone" / f"{name}.png"), full_page=True)
    context.close()
