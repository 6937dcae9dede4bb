"""End to end: "My reviews", per-file owner status and "Ask these owners" on the dev Gerrit.

On branch `reviews` (an alias, a `gerrit:` group and an included file), zed pushes changes
and alice approves one; then:

- alice's queue (the API, `owners queue --json` run as alice, the page in Chromium) lists
  the subsystems she may approve for and how, the changes that need her, oldest first, and
  apart the one she approved that waits for others; lena's shows her group's subsystem;
- the change page gives each file's owner status, and moves a file from "no owner asked" to
  "pending" once its owner is a reviewer (the bot asks owners itself, but not on a change
  in progress: zed marks two so and removes them);
- zed clicks "Ask these owners" in Chromium and Gerrit shows the suggested owners as
  reviewers, added by zed; a form posted from another site, and requests without the
  token or from another origin, are refused and add nobody;
- with compute's owner away, the change page suggests nova-core instead, and zed's click asks
  them; alice asks the owners of a change from her queue's row in Chromium.

Screenshots go to $OWNERS_SCREENSHOTS, else the test's tmp folder.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from novademo import Nova, password

pytestmark = pytest.mark.e2e

OWNERS_COMMAND = Path(sys.executable).with_name("owners")  # the installed console script
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip

BRANCH = "reviews"
AWAY = "out of office until 12 Dec"
GROUP = "Reviews Libvirt Team"
OWNERS = f"""version: 1
include: [nova/virt/hyperv/OWNERS.yaml]
policy:
  label: Code-Review
  approve: 2
  veto: -2
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
    owners: [victor]
  - name: libvirt
    paths: [nova/virt/libvirt/]
    owners: ["gerrit:{GROUP}"]
    parent: virt
"""
INCLUDED = """version: 1
groups:
  hv-team: [alice, hana]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [hv-team]
    parent: virt
"""


@pytest.fixture(scope="module")
def queue(nova: Nova) -> dict[str, int]:
    """zed's changes on `reviews`, oldest first: hyperv alone, hyperv and the README (which
    alice approves: it still waits for root), compute alone, a private hyperv change on
    which alice is a reviewer (so she may see it), and libvirt alone.  The second and third
    are marked work in progress, their reviewers taken off."""
    nova.gerrit.rest.put(
        f"groups/{quote(GROUP, safe='')}", {"members": ["lena"], "visible_to_all": True}
    )
    nova.create_branch(BRANCH, {"OWNERS.yaml": OWNERS, "nova/virt/hyperv/OWNERS.yaml": INCLUDED})
    numbers = {
        "hyperv": nova.push_change(
            "zed", {"nova/virt/hyperv/driver.py": "# 1\n"}, "hyperv: faster", branch=BRANCH
        ),
        "both": nova.push_change(
            "zed",
            {"nova/virt/hyperv/driver.py": "# 2\n", "README.rst": "# 2\n"},
            "hyperv and the README",
            branch=BRANCH,
        ),
        "compute": nova.push_change(
            "zed", {"nova/compute/api.py": "# 3\n"}, "compute: new call", branch=BRANCH
        ),
        "private": nova.push_change(
            "zed", {"nova/virt/hyperv/vm.py": "# 4\n"}, "hyperv: a private fix", branch=BRANCH
        ),
        "libvirt": nova.push_change(
            "zed", {"nova/virt/libvirt/host.py": "# 5\n"}, "libvirt: host", branch=BRANCH
        ),
    }
    for number in numbers.values():
        nova.wait_for_comment(number)
    zed = nova.rest("zed")
    zed.post(f"changes/{numbers['private']}/private")
    zed.post(f"changes/{numbers['private']}/reviewers", {"reviewer": "alice"})
    for name in ("both", "compute"):
        zed.post(f"changes/{numbers[name]}/wip")  # the bot asks nobody on these any more
        unask(nova, numbers[name])
    nova.vote("alice", numbers["both"], 2)
    nova.wait_until_idle()
    return numbers


def unask(nova: Nova, number: int) -> None:
    """zed takes off the reviewers the bot asked on a work-in-progress change (which it then
    leaves alone), never one who voted."""
    zed = nova.rest("zed")
    for _ in range(6):
        info = zed.get(f"changes/{number}?o=DETAILED_LABELS&o=DETAILED_ACCOUNTS")
        voted = {v["_account_id"] for v in info["labels"]["Code-Review"].get("all", ())
                 if v.get("value")}  # fmt: skip
        asked = [
            r["_account_id"]
            for r in (info.get("reviewers") or {}).get("REVIEWER", ())
            if r["_account_id"] not in voted and r.get("username") != "owners-bot"
        ]
        if not asked:
            return
        for reviewer in asked:
            zed.delete(f"changes/{number}/reviewers/{reviewer}")
        nova.wait_until_idle()
    raise AssertionError(f"the bot kept asking reviewers on change {number}")


def api(nova: Nova, path: str, user: str | None = None) -> requests.Response:
    auth = (user, password(user)) if user else None
    return requests.get(f"{nova.service_url}/api/v1{path}", auth=auth, timeout=60)


def on_branch(found: list[dict[str, Any]]) -> list[int]:
    return [c["change"] for c in found if c["branch"] == BRANCH]


def test_my_reviews_as_alice_lists_her_subsystems_and_the_changes_that_need_her(
    nova: Nova, queue: dict[str, int]
) -> None:
    found = api(nova, "/reviews", "alice").json()
    assert found["reviewer"]["username"] == "alice" and found["reviewer"]["name"] == "Alice"
    mine = {s["subsystem"]: s for s in found["subsystems"] if s["branch"] == BRANCH}
    assert mine["compute"]["via"] == "direct" and mine["compute"]["file"] == "OWNERS.yaml"
    assert mine["hyperv"]["via"] == "alias" and mine["hyperv"]["through"] == ["hv-team"]
    assert mine["hyperv"]["file"] == "nova/virt/hyperv/OWNERS.yaml"  # an included file
    assert "libvirt" not in mine and "root" not in mine
    needs = on_branch(found["needs_you"])
    # oldest first; "both" she approved; the private one she reviews, marked
    assert needs == [queue["hyperv"], queue["compute"], queue["private"]]
    private = next(c for c in found["needs_you"] if c["change"] == queue["private"])
    assert private["private"] is True and private["owner"] == {"username": "zed", "name": "Zed"}
    compute = next(c for c in found["needs_you"] if c["change"] == queue["compute"])
    assert compute["work_in_progress"] is True and compute["private"] is False
    hyperv = next(c for c in found["needs_you"] if c["change"] == queue["hyperv"])
    assert [r["subsystem"] for r in hyperv["yours"]] == ["hyperv"]
    assert hyperv["others"] == []  # nothing else: nearest wins
    waiting = [c for c in found["waiting_for_others"] if c["branch"] == BRANCH]
    assert [c["change"] for c in waiting] == [queue["both"]]
    assert [r["subsystem"] for r in waiting[0]["yours"]] == ["hyperv"]
    assert [(r["subsystem"], r["missing"]) for r in waiting[0]["others"]] == [("root", 1)]
    # zed wrote them all: nothing waits for him; carol's queue does not have the private one
    assert on_branch(api(nova, "/reviews", "zed").json()["needs_you"]) == []
    carol = on_branch(api(nova, "/reviews", "carol").json()["needs_you"])
    assert queue["private"] not in carol and queue["hyperv"] in carol
    assert api(nova, "/reviews").status_code == 401  # anonymous: sign in first


def test_my_reviews_through_a_gerrit_group(nova: Nova, queue: dict[str, int]) -> None:
    found = api(nova, "/reviews", "lena").json()
    mine = {s["subsystem"]: s for s in found["subsystems"] if s["branch"] == BRANCH}
    assert mine["libvirt"]["via"] == "group" and mine["libvirt"]["through"] == [f"gerrit:{GROUP}"]
    assert on_branch(found["needs_you"]) == [queue["libvirt"]]


def test_owners_queue_as_alice_says_what_the_page_says(nova: Nova, queue: dict[str, int]) -> None:
    run = subprocess.run(
        [str(OWNERS_COMMAND), "queue", "--json"],
        env=nova.service_env(user="alice"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cli = json.loads(run.stdout)
    page = api(nova, "/reviews", "alice").json()
    for found in (cli, page):
        for change in (*found["needs_you"], *found["waiting_for_others"]):
            change.pop("age_seconds")
    assert cli == page
    text = subprocess.run(
        [str(OWNERS_COMMAND), "queue"],
        env=nova.service_env(user="alice"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert text.startswith("alice (Alice)") and f"{queue['private']} [private]" in text


def test_the_change_page_gives_each_files_owner_status(nova: Nova, queue: dict[str, int]) -> None:
    number = queue["both"]
    status = {f["path"]: f for f in api(nova, f"/c/{number}", "zed").json()["file_status"]}
    hyperv, readme = status["nova/virt/hyperv/driver.py"], status["README.rst"]
    # alice approved hyperv; the README needs root (nova-core), and nobody is asked
    assert hyperv["state"] == "approved" and hyperv["approved_by"] == ["alice"]
    assert hyperv["requirements"] == ["hyperv"]
    assert readme["state"] == "unasked" and readme["requirements"] == ["root"]
    assert readme["approved_by"] == [] and readme["asked"] == []
    nova.rest("zed").post(f"changes/{number}/reviewers", {"reviewer": "erin"})
    status = {f["path"]: f for f in api(nova, f"/c/{number}", "zed").json()["file_status"]}
    assert status["README.rst"]["state"] == "pending" and status["README.rst"]["asked"] == ["erin"]
    assert status["nova/virt/hyperv/driver.py"]["state"] == "approved"


# -- a real browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("OWNERS_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser: Any, nova: Nova, user: str) -> Any:
    context = browser.new_context(
        http_credentials={"username": user, "password": password(user)},
        viewport={"width": 1280, "height": 800},
    )
    page = context.new_page()
    page.goto(f"{nova.service_url}/signin")
    assert f"signed in as {user}" in page.inner_text("header")
    return page


def reviewers(nova: Nova, number: int) -> dict[str, str | None]:
    """The change's reviewers in Gerrit, each with who last added them (Gerrit's record)."""
    info = nova.gerrit.rest.get(f"changes/{number}?o=REVIEWER_UPDATES")
    added_by: dict[int, int] = {}
    for update in info.get("reviewer_updates") or ():
        if update.get("state") == "REVIEWER":
            added_by[update["reviewer"]["_account_id"]] = update["updated_by"]["_account_id"]
    names = {}
    for account in nova.gerrit.rest.get(f"changes/{number}/reviewers/"):
        if account.get("username") in (None, "owners-bot"):
            continue
        by = added_by.get(account["_account_id"])
        names[account["username"]] = (
            nova.gerrit.rest.get(f"accounts/{by}")["username"] if by is not None else None
        )
    return names


def test_alice_opens_my_reviews_in_a_browser(
    nova: Nova, queue: dict[str, int], browser: Any, shots: Path
) -> None:
    page = signed_in(browser, nova, "alice")
    page.click("#my-reviews")
    assert page.url.endswith("/reviews")
    tables = page.locator("table.queue")
    needs = tables.nth(0).locator("a.change")
    listed = [int(needs.nth(i).inner_text()) for i in range(needs.count())]
    assert [n for n in listed if n in queue.values()] == [
        queue["hyperv"], queue["compute"], queue["private"]
    ]  # fmt: skip
    assert "private" in tables.nth(0).locator("tr", has_text="a private fix").inner_text()
    assert "Zed" in tables.nth(0).inner_text()
    page.screenshot(path=str(shots / "reviews.png"), full_page=True)
    page.click(f"table.queue a.change:text-is('{queue['both']}')")
    assert page.locator("table.file-status tr.approved").count() == 1
    page.screenshot(path=str(shots / "change-files.png"), full_page=True)


def test_zed_asks_the_owners_from_the_page_and_gerrit_shows_them(
    nova: Nova, queue: dict[str, int], browser: Any, shots: Path
) -> None:
    """alice, compute's one owner and whom the distance-only ranking asks, is away: the page
    suggests a nova-core owner instead (they may approve below root), and the click asks
    exactly those."""
    number = queue["compute"]
    # zed has not ranked compute's owners before (his queue is empty: the service reads
    # people only for the changes in a queue), so nothing he saw of alice is kept
    nova.rest("alice").put("accounts/self/status", {"status": AWAY})
    try:
        _zed_asks(nova, number, browser, shots)
    finally:
        nova.rest("alice").put("accounts/self/status", {"status": ""})


def _zed_asks(nova: Nova, number: int, browser: Any, shots: Path) -> None:
    found = api(nova, f"/c/{number}", "zed").json()
    suggested = found["suggestion"]["reviewers"]
    assert suggested and "alice" not in suggested and set(suggested) <= {"carol", "dave", "erin"}
    assert f"alice: {AWAY}" in found["suggestion"]["why"]
    assert not set(suggested) & set(reviewers(nova, number))
    page = signed_in(browser, nova, "zed")
    page.goto(f"{nova.service_url}/c/{number}")
    assert page.locator("table.file-status tr.unasked").count() == 1
    assert page.inner_text("#suggested") == ", ".join(suggested)
    assert f"alice: {AWAY}" in page.inner_text("#suggestion-why")
    page.click("#ask")
    assert page.url == f"{nova.service_url}/c/{number}?asked=1"
    assert all(name in page.inner_text("#asked") for name in suggested)
    now = reviewers(nova, number)
    assert {name: now.get(name) for name in suggested} == {name: "zed" for name in suggested}, (
        now,
        nova.gerrit.rest.get(f"changes/{number}?o=REVIEWER_UPDATES").get("reviewer_updates"),
    )  # added, by zed: the viewer's own credentials
    assert page.locator("table.file-status tr.pending").count() == 1
    page.screenshot(path=str(shots / "change-asked.png"), full_page=True)


def test_alice_asks_the_owners_from_my_reviews_and_gerrit_shows_them(
    nova: Nova, queue: dict[str, int], browser: Any, shots: Path
) -> None:
    """A change of alice's whose README nobody was asked for (zed took the bot's reviewers
    off a change in progress): her queue offers *Ask these owners* on its row, and the click
    asks, as alice, the ranked owners the row names."""
    number = nova.push_change(
        "zed",
        {"nova/compute/api.py": "# 6\n", "README.rst": "# 6\n"},
        "compute and the README",
        branch=BRANCH,
    )
    nova.wait_for_comment(number)
    nova.rest("zed").post(f"changes/{number}/wip")
    unask(nova, number)
    listed = next(c for c in api(nova, "/reviews", "alice").json()["needs_you"]
                  if c["change"] == number)  # fmt: skip
    suggested = listed["suggested_reviewers"]
    assert listed["no_owner_asked"] and suggested
    page = signed_in(browser, nova, "alice")
    page.click("#my-reviews")
    row = page.locator("table.queue tr", has=page.locator(f"button.ask[data-change='{number}']"))
    assert row.locator("form.ask small").inner_text() == ", ".join(suggested)
    page.screenshot(path=str(shots / "reviews-ask.png"), full_page=True)
    row.locator("button.ask").click()
    assert page.url == f"{nova.service_url}/c/{number}?asked=1"
    now = reviewers(nova, number)
    assert {name: now.get(name) for name in suggested} == {name: "alice" for name in suggested}
    assert page.locator("table.file-status tr.unasked").count() == 0


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Another site: its page posts a form to the service's "Ask these owners"."""

    target = ""

    def do_GET(self) -> None:
        body = (
            f'<form id="f" method="post" action="{self.target}">'
            '<input name="csrf" value="guessed"></form>'
            '<script>document.getElementById("f").submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_cross_site_post_is_refused_and_adds_nobody(
    nova: Nova, queue: dict[str, int], browser: Any
) -> None:
    number = queue["hyperv"]
    before = reviewers(nova, number)
    target = f"{nova.service_url}/c/{number}/ask"
    # zed's browser, signed in to the service, visits another site that posts the form
    page = signed_in(browser, nova, "zed")
    page.goto(f"{nova.service_url}/c/{number}")  # the service's token cookie is set
    handler = type("Hostile", (_Hostile,), {"target": target})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with page.expect_response(target) as answer:
            page.goto(f"http://127.0.0.1:{server.server_port}/")
        assert answer.value.status == 403
    finally:
        server.shutdown()
    # and without a browser: another origin, no token, a token of no cookie, no origin
    auth = ("zed", password("zed"))
    for headers, form in (
        ({"Origin": "http://evil.invalid"}, {"csrf": "x"}),
        ({"Origin": nova.service_url}, {}),
        ({"Referer": f"{nova.service_url}/c/{number}"}, {"csrf": "not-signed"}),
        ({}, {}),
    ):
        answer = requests.post(target, data=form, headers=headers, auth=auth, timeout=60)
        assert answer.status_code == 403, (headers, form)
    assert reviewers(nova, number) == before


def test_my_reviews_and_the_file_status_fit_a_phone(
    nova: Nova, queue: dict[str, int], browser: Any, shots: Path
) -> None:
    """At 375 px neither page is wider than the screen, and no name is broken across lines
    (the rule of test_web's phone test, for the pages of a signed-in viewer)."""
    from test_web import BROKEN_SEGMENTS, PHONE

    context = browser.new_context(
        viewport=PHONE, http_credentials={"username": "alice", "password": password("alice")}
    )
    page = context.new_page()
    page.goto(f"{nova.service_url}/signin")
    for name, address in (("reviews", "/reviews"), ("change-files", f"/c/{queue['both']}")):
        page.goto(nova.service_url + address)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (address, width)
        assert page.evaluate(BROKEN_SEGMENTS) == [], address
        (shots / "phone").mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "phone" / f"{name}.png"), full_page=True)
    context.close()
