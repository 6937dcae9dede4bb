"""The web pages and /api/v1 on the in-memory Gerrit, read as three viewers.

`ViewerGerrit` puts Gerrit's visibility in front of `FakeGerrit`: alice and zed sign in with
their HTTP passwords, anyone else is anonymous; change 7 is private to zed, project `secret`
is visible to alice only, and group `Hidden Team` to alice only.  Hostile names, traversal,
very long paths and a 100,000-file tree are each tried.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any, ClassVar

import pytest
from flask.testing import FlaskClient

from owners.engine import Ownership, load_config
from owners.gerrit.connection import GerritConnection
from owners.gerrit.settings import Settings
from owners.views.render import check_json, who_json
from webhook.app import create_app
from webhook.jobs import Jobs
from webhook.web import CONNECTION_FACTORY, data

from .conftest import HEAD, FakeGerrit, HTTPStatus, account, change_info, settings

PASSWORDS = {"alice": "alice-pw", "zed": "zed-pw"}
HOSTILE = '<script>alert("x")</script>'
TREE = (
    "README.rst",
    "nova/compute/api.py",
    "nova/virt/driver.py",
    "nova/virt/hyperv/driver.py",
    "nova/virt/hyperv/README.rst",
    "nova/virt/libvirt/host.py",
    f"nova/{HOSTILE}.py",
    "OWNERS.yaml",
)
WHEN = "2026-01-10 10:00:00.000000000"


class ViewerGerrit:
    """FakeGerrit as one viewer sees it (None: anonymous)."""

    def __init__(self, fake: FakeGerrit, auth: tuple[str, str] | None):
        self.fake = fake
        if auth is not None and PASSWORDS.get(auth[0]) != auth[1]:
            self.user: str | None = "!"
        else:
            self.user = auth[0] if auth else None

    def _check(self, path: str) -> None:
        if self.user == "!":
            raise HTTPStatus(401, "Unauthorized")
        if "secret" in path and self.user != "alice":
            raise HTTPStatus(404, "Not found")
        if path.startswith("groups/") and self.user is None:
            raise HTTPStatus(403, "Authentication required")  # Gerrit's answer to anonymous
        if "Hidden%20Team" in path and self.user != "alice":
            raise HTTPStatus(404, "Not found")
        private = path.startswith("changes/") and path.split("/")[1].split("~")[-1] == "7"
        if private and self.user != "zed":
            raise HTTPStatus(404, "Not found")

    def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        self._check(path)
        if path == "projects/":
            # Gerrit's own projects hold only refs/meta/config (HEAD points there): type=CODE
            # leaves them out
            own = () if (params or {}).get("type") == "CODE" else ("All-Projects", "All-Users")
            found = [p for p in self.fake.projects if p != "secret" or self.user]
            return {p: {} for p in sorted([*found, *own])}
        if path == "accounts/self":
            if self.user is None:
                raise HTTPStatus(403, "Authentication required")
            return account(self.user)
        answer = self.fake.get(path, params=params, **kw)
        if path == "changes/":
            answer = [c for c in answer if not c.get("is_private") or self.user == "zed"]
        return answer

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        self._check(path)
        return self.fake.put(path, json=json, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        self._check(path)
        return self.fake.post(path, json=json, **kw)


class TreeGit:
    """The git role of a connection, with each branch's tree from `trees` instead of a fetch:
    its head read as the real `branch_files` reads it, at the same cost (one call)."""

    trees: ClassVar[dict[tuple[str, str], tuple[str, ...]]] = {}

    def __init__(self, gerrit: GerritConnection):
        self.gerrit = gerrit

    def branch_files(
        self, project: str, branch: str, auth: tuple[str, str] | None
    ) -> tuple[str, tuple[str, ...]]:
        self.gerrit.count_call()
        head = self.gerrit.projects.branch_head(project, branch) or ""
        return head, self.trees[(project, branch)]


def tree_connection(settings: Settings, rest: ViewerGerrit) -> GerritConnection:
    """The real connection over the viewer's REST, with `TreeGit` as its git role."""
    connection = GerritConnection(settings, rest=rest)
    connection.git = TreeGit(connection)  # type: ignore[assignment]
    return connection


def history_info(number: int, files: list[str], **extra: Any) -> dict[str, Any]:
    info = change_info(number, {f: {} for f in files}, owner="zed", **extra)
    info.update(created=WHEN, updated=WHEN, subject=extra.get("subject", f"change {number}"))
    for m in info["messages"]:
        m.setdefault("date", WHEN)
    return info


@pytest.fixture
def fake(nova_config: bytes) -> FakeGerrit:
    gerrit = FakeGerrit()
    gerrit.projects |= {"secret"}
    gerrit.set_branch("nova", "master", HEAD, nova_config)
    gerrit.set_branch("secret", "master", "b" * 40, nova_config)
    gerrit.groups["Hidden Team"] = [account("alice")]
    gerrit.groups["hyperv-core"] = [account("alice")]
    gerrit.add_change(history_info(3, ["nova/virt/hyperv/driver.py", "nova/compute/api.py"]))
    bot_message = {
        "author": account("owners-bot"),
        "tag": "autogenerated:owners",
        "date": WHEN,
        "message": "Patch Set 1: Owner-Approval+0\n\nOwners: PENDING: 2 of 2 requirements not "
        "yet met.\n\nowners-fingerprint: 0123456789ab",
    }
    gerrit.add_change(
        history_info(
            5,
            ["nova/virt/hyperv/driver.py"],
            subject=f"hyperv: {HOSTILE}",
            messages=[bot_message],
            owner_name=HOSTILE,
        )
    )
    gerrit.changes[5]["owner"]["username"] = "zed"
    gerrit.add_change(history_info(7, ["nova/virt/hyperv/driver.py"], is_private=True))
    TreeGit.trees = {("nova", "master"): TREE, ("secret", "master"): ("a.py",)}
    return gerrit


@pytest.fixture
def client(fake: FakeGerrit, tmp_path: Any) -> FlaskClient:
    config = settings(public_url="https://owners.example.org")
    app = create_app(config, jobs=Jobs(config, None))

    def connect(s: Settings, auth: tuple[str, str] | None) -> GerritConnection:
        return tree_connection(s, ViewerGerrit(fake, auth))

    app.config[CONNECTION_FACTORY] = connect
    data.TREES.clear()
    data.GROUPS.clear()
    data.REPORTS.clear()
    data.CONFIGS.clear()
    data.REQUIREMENTS.clear()
    data.EVALUATIONS.clear()
    data.PEOPLE.clear()
    return app.test_client()


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password or PASSWORDS[user]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- the tree -------------------------------------------------------------------------------


def test_root_folder_lists_entries_with_requirements_and_marks_root_only(
    client: FlaskClient,
) -> None:
    page = client.get("/p/nova/+/master/tree/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "README.rst" in text and 'class="file unowned"' in text
    api = client.get("/api/v1/p/nova/+/master/tree/").get_json()
    by_name = {e["name"]: e for e in api["entries"]}
    assert by_name["README.rst"]["root_only"] is True
    folder = by_name["nova"]
    assert folder["kind"] == "folder" and folder["files"] == 6
    names = [r["subsystem"] for r in folder["requirements"]]
    assert names[0] == "root" and {"hyperv", "virt", "driver-api", "libvirt"} <= set(names)


def test_deep_link_to_a_file_explains_it_with_the_cli_shapes(
    client: FlaskClient, nova_config: bytes
) -> None:
    api = client.get("/api/v1/p/nova/+/master/tree/nova/virt/hyperv/driver.py").get_json()
    ownership = Ownership(load_config(nova_config))
    # the API and `owners who --json` share one renderer
    expected = who_json(ownership, ["nova/virt/hyperv/driver.py"])[0]["requirements"]
    assert api["who"]["requirements"] == expected
    assert api["explain"]["path"] == "nova/virt/hyperv/driver.py"
    page = client.get("/p/nova/+/master/tree/nova/virt/hyperv/driver.py")
    assert page.status_code == 200 and "hyperv" in page.get_data(as_text=True)


def test_search_finds_paths(client: FlaskClient) -> None:
    api = client.get("/api/v1/p/nova/+/master/tree/?q=HYPERV").get_json()
    assert "nova/virt/hyperv/driver.py" in api["matches"] and "nova/virt/hyperv/" in api["matches"]
    assert client.get("/p/nova/+/master/tree/?q=hyperv").status_code == 200


def test_hostile_file_name_is_escaped(client: FlaskClient) -> None:
    text = client.get("/p/nova/+/master/tree/nova").get_data(as_text=True)
    assert HOSTILE not in text
    assert "&lt;script&gt;" in text


@pytest.mark.parametrize(
    "path",
    [
        "/p/nova/+/master/tree/nova/../secret",
        "/p/nova/+/master/tree/nova/./virt",
        "/p/nova/+/master/tree/nova//virt",
        "/p/nova/+/master/tree/nova%00x",
        "/p/nova/+/master/tree/" + "a/" * 3000,
    ],
)
def test_traversal_control_characters_and_long_paths_are_refused(
    client: FlaskClient, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code in (400, 404), path
    assert answer.status_code == 400 or "/.." not in path


def test_missing_path_is_404(client: FlaskClient) -> None:
    assert client.get("/p/nova/+/master/tree/nova/nothing.py").status_code == 404


def test_a_100000_file_tree_pages_and_stays_fast(client: FlaskClient) -> None:
    paths = tuple(f"big/d{i // 100:04d}/f{i % 100:02d}.py" for i in range(100_000))
    TreeGit.trees[("nova", "master")] = paths
    start = time.perf_counter()
    first = client.get("/api/v1/p/nova/+/master/tree/big").get_json()
    cold = time.perf_counter() - start
    assert first["page"]["entries"] == 1000 and first["page"]["pages"] == 5
    assert len(first["entries"]) == data.PAGE_SIZE
    start = time.perf_counter()
    last = client.get("/api/v1/p/nova/+/master/tree/big?page=5").get_json()
    warm = time.perf_counter() - start
    assert last["entries"][-1]["path"] == "big/d0999"
    assert warm < 0.5 and cold < 10, (cold, warm)
    found = client.get("/api/v1/p/nova/+/master/tree/?q=f42").get_json()
    assert found["truncated"] and len(found["matches"]) == data.SEARCH_LIMIT


# -- who sees what ------------------------------------------------------------------------------


def test_hidden_project_is_hidden_from_anonymous_and_zed(client: FlaskClient) -> None:
    assert client.get("/p/secret/+/master/tree/").status_code == 404
    assert client.get("/p/secret/+/master/tree/", headers=basic("zed")).status_code == 404
    assert client.get("/p/secret/+/master/tree/", headers=basic("alice")).status_code == 200
    projects = client.get("/api/v1/").get_json()["projects"]
    assert "secret" not in projects
    assert "secret" in client.get("/api/v1/", headers=basic("alice")).get_json()["projects"]


def test_private_change_is_seen_by_its_owner_only(client: FlaskClient) -> None:
    assert client.get("/c/7").status_code == 404
    assert client.get("/c/7", headers=basic("alice")).status_code == 404
    assert client.get("/c/7", headers=basic("zed")).status_code == 200
    queue = client.get("/api/v1/p/nova/+/master/s/hyperv").get_json()["queue"]
    assert [c["change"] for c in queue] == [3, 5]
    queue = client.get("/api/v1/p/nova/+/master/s/hyperv", headers=basic("zed")).get_json()
    assert [c["change"] for c in queue["queue"]] == [3, 5, 7]


def test_group_members_only_for_those_who_may_see_the_group(
    client: FlaskClient, fake: FakeGerrit, nova_config: bytes
) -> None:
    config = nova_config.replace(b"owners: [hyperv-core]", b"owners: [gerrit:Hidden Team]")
    fake.set_branch("nova", "master", "c" * 40, config)
    anonymous = client.get("/api/v1/p/nova/+/master/s/hyperv").get_json()
    owner = anonymous["subsystem"]["owners"][0]
    assert owner == {"entry": "gerrit:Hidden Team", "members": None, "group": True}
    assert "not visible to you" in client.get("/p/nova/+/master/s/hyperv").get_data(as_text=True)
    alice = client.get("/api/v1/p/nova/+/master/s/hyperv", headers=basic("alice")).get_json()
    assert alice["subsystem"]["owners"][0]["members"] == ["alice"]


def test_wrong_password_is_challenged_and_nothing_secret_is_kept(client: FlaskClient) -> None:
    answer = client.get("/p/nova/+/master/tree/", headers=basic("alice", "wrong"))
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    assert "wrong" not in answer.get_data(as_text=True)
    signed = client.get("/p/nova/+/master/tree/", headers=basic("alice"))
    assert "Set-Cookie" not in signed.headers
    assert signed.headers["Cache-Control"] == "private, no-store"
    assert "signed in as <strong>alice</strong>" in signed.get_data(as_text=True)


def test_signin_challenges_then_redirects_only_to_our_own_pages(client: FlaskClient) -> None:
    assert client.get("/signin").status_code == 401
    back = client.get("/signin?next=/c/3", headers=basic("zed"))
    assert back.status_code == 302 and back.headers["Location"] == "/c/3"
    away = client.get("/signin?next=//evil.example/", headers=basic("zed"))
    assert away.headers["Location"] == "/"


# -- subsystem, change, report ---------------------------------------------------------------------


def test_subsystem_page_shows_owners_chain_queue_and_dashboard(client: FlaskClient) -> None:
    api = client.get("/api/v1/p/nova/+/master/s/hyperv").get_json()
    sub = api["subsystem"]
    assert sub["parent_chain"] == ["hyperv", "virt", "root"]
    assert sub["owners"][0]["entry"] == "alice"
    assert api["dashboard"].endswith("/p/nova/+/dashboard/owners:hyperv")
    first = api["queue"][0]
    assert first["change"] == 3 and first["verdict"] == "PENDING"
    assert [o["subsystem"] for o in first["others"]] == ["root"]
    text = client.get("/p/nova/+/master/s/hyperv").get_data(as_text=True)
    assert HOSTILE not in text and "hyperv: &lt;script&gt;" in text
    assert client.get("/p/nova/+/master/s/nope").status_code == 404


def test_change_page_verdict_requirements_history_and_explanation(client: FlaskClient) -> None:
    api = client.get("/api/v1/c/5?explain=nova/virt/hyperv/driver.py").get_json()
    assert api["verdict"] == "PENDING"
    assert api["requirements"][0]["subsystem"] == "hyperv"
    assert api["history"][0]["verdict"] == "PENDING"
    assert api["explain"]["path"] == "nova/virt/hyperv/driver.py"
    assert set(api["check"]) >= {"verdict", "requirements", "suggested_reviewers"}
    text = client.get("/c/5").get_data(as_text=True)
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert client.get("/c/5?explain=../x").status_code == 400


@pytest.mark.parametrize(("inactive", "verdict"), [(False, "APPROVED"), (True, "PENDING")])
def test_change_page_does_not_count_a_deactivated_accounts_vote(
    client: FlaskClient, fake: FakeGerrit, inactive: bool, verdict: str
) -> None:
    vote = dict(account("bob"), value=2, **({"inactive": True} if inactive else {}))
    fake.changes[5]["labels"]["Code-Review"]["all"].append(vote)
    assert client.get("/api/v1/c/5").get_json()["verdict"] == verdict


def test_change_api_check_is_the_cli_check_json(client: FlaskClient, fake: FakeGerrit) -> None:
    """`owners check --change N --json` and the API's `check` come from one renderer."""
    from webhook.service import OwnersService

    config = settings()
    service = OwnersService(config, GerritConnection(config, rest=fake))
    _, outcome = service.assess_change(3)
    from owners.gerrit.verdict import check_outcome

    api = client.get("/api/v1/c/3").get_json()
    assert api["check"] == check_json(check_outcome(outcome))


def test_report_page_draws_svg_charts_and_caches_the_figures(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    page = client.get("/p/nova/+/master/report?days=36500")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count("<svg") == 5  # waits, enough, load, first owner review, status
    assert "Time to the first owner review" in text and "Suggested MAINTAINERS status" in text
    assert "<h2>Ownership health</h2>" in text
    calls = len(fake.log)
    assert client.get("/api/v1/p/nova/+/master/report?days=36500").status_code == 200
    assert len(fake.log) == calls + 1  # only the branch head: the figures were cached


def test_pages_forbid_foreign_assets(client: FlaskClient) -> None:
    answer = client.get("/p/nova/+/master/tree/")
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    text = answer.get_data(as_text=True)
    assert "http://" not in text.replace("http://gerrit.invalid", "")
    assert client.get("/static/owners/style.css").status_code == 200


# -- the bot's link ------------------------------------------------------------------------------


def test_bot_comment_links_the_change_page() -> None:
    from owners.gerrit.model import ChangeSnapshot
    from owners.gerrit.verdict import assess
    from webhook.bot import plan

    config = settings(public_url="https://owners.example.org")
    snapshot = ChangeSnapshot.from_change_info(change_info(42, {"a.py": {}}))
    report = plan(
        snapshot, assess(snapshot, b"version: 1\nroot:\n  owners: [carol]\n", config), config
    )
    assert report.message is not None
    assert "Details: https://owners.example.org/c/42" in report.message


def test_public_url_setting() -> None:
    env = {
        "OWNERS_GERRIT_URL": "http://g.invalid",
        "OWNERS_GERRIT_USER": "bot",
        "OWNERS_GERRIT_PASSWORD": "x",
    }
    assert Settings.from_env(env).public_url is None
    found = Settings.from_env({**env, "OWNERS_PUBLIC_URL": "https://o.example.org/"})
    assert found.public_url == "https://o.example.org"
    from owners.gerrit.settings import SettingsError

    with pytest.raises(SettingsError):
        Settings.from_env({**env, "OWNERS_PUBLIC_URL": "javascript:alert(1)"})


# -- every kind of owner, a cold cache, an anonymous viewer -------------------------------------

KINDS_OWNERS = b"""version: 1
include: [nova/virt/hyperv/OWNERS.yaml]
groups:
  nova-core: [carol, dave]
root:
  owners: [nova-core]
subsystems:
  - name: compute
    paths: [nova/compute/]
    owners: [alice]
  - name: virt
    paths: [nova/virt/]
    owners: [bob@example.org]
  - name: libvirt
    paths: [nova/virt/libvirt/]
    owners: ["gerrit:Libvirt Team"]
    parent: virt
"""
KINDS_INCLUDED = b"""version: 1
groups:
  hv-team: [alice, hana]
subsystems:
  - name: hyperv
    paths: [nova/virt/hyperv/]
    owners: [hv-team]
    parent: virt
"""
KINDS_HEAD = "d" * 40
# subsystem -> (its first owner as shown, a Gerrit group's members for a signed-in viewer)
KINDS = {
    "root": ("carol", None),  # the alias nova-core, shown as its members
    "compute": ("alice", None),  # a username
    "virt": ("bob@example.org", None),  # an email
    "libvirt": ("gerrit:Libvirt Team", ["lena"]),  # a Gerrit group
    "hyperv": ("alice", None),  # the alias hv-team of an included file
}


@pytest.fixture
def kinds(fake: FakeGerrit) -> FakeGerrit:
    """Branch `kinds`: one subsystem per kind of owner, hyperv's in an included file, a change
    touching each; the Gerrit group answers anonymous readers 403, as Gerrit does."""
    fake.set_branch("nova", "kinds", KINDS_HEAD, KINDS_OWNERS)
    fake.trees[("nova", KINDS_HEAD)]["nova/virt/hyperv/OWNERS.yaml"] = KINDS_INCLUDED
    fake.groups["Libvirt Team"] = [account("lena")]
    TreeGit.trees[("nova", "kinds")] = (*TREE, "nova/virt/hyperv/OWNERS.yaml")
    files = [
        "README.rst",
        "nova/compute/api.py",
        "nova/virt/driver.py",
        "nova/virt/libvirt/host.py",
        "nova/virt/hyperv/driver.py",
    ]
    fake.add_change(history_info(11, files, branch="kinds"))
    return fake


def without_include(fake: FakeGerrit) -> None:
    """Branch `kinds` without its included file (and the hyperv subsystem it holds)."""
    content = KINDS_OWNERS.replace(b"include: [nova/virt/hyperv/OWNERS.yaml]\n", b"")
    fake.set_branch("nova", "kinds", "e" * 40, content)


def test_change_page_of_a_branch_naming_a_gerrit_group_with_a_cold_cache(
    client: FlaskClient, kinds: FakeGerrit
) -> None:
    """Every change page of such a branch answered 500 (RecursionError) to whoever's group
    cache was empty: its group resolver called itself."""
    without_include(kinds)
    for who in ({}, basic("alice"), basic("zed")):
        data.GROUPS.clear()
        assert client.get("/c/11", headers=who).status_code == 200, who
        api = client.get("/api/v1/c/11", headers=who).get_json()
        libvirt = next(r for r in api["requirements"] if r["subsystem"] == "libvirt")
        members = ["lena"] if who else None
        assert libvirt["eligible"][0] == {
            "entry": "gerrit:Libvirt Team",
            "members": members,
            "group": True,
        }, who


def test_anonymous_viewer_sees_a_gerrit_group_as_not_visible(
    client: FlaskClient, kinds: FakeGerrit
) -> None:
    """Gerrit answers anonymous group reads 403: the group is not visible, the page is."""
    without_include(kinds)
    for address in (
        "/p/nova/+/kinds/tree/",
        "/p/nova/+/kinds/tree/nova/virt",
        "/p/nova/+/kinds/tree/nova/virt/libvirt/host.py",
        "/p/nova/+/kinds/s/libvirt",
        "/c/11",
    ):
        data.GROUPS.clear()
        page = client.get(address)
        assert page.status_code == 200, address
        assert "not visible to you" in page.get_data(as_text=True), address
    sub = client.get("/api/v1/p/nova/+/kinds/s/libvirt").get_json()["subsystem"]
    assert sub["owners"] == [{"entry": "gerrit:Libvirt Team", "members": None, "group": True}]
    data.GROUPS.clear()
    alice = client.get("/api/v1/p/nova/+/kinds/s/libvirt", headers=basic("alice")).get_json()
    assert alice["subsystem"]["owners"][0]["members"] == ["lena"]


@pytest.mark.parametrize("viewer", [None, "alice"])
@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_of_owner_on_every_page_with_a_cold_cache(
    client: FlaskClient, kinds: FakeGerrit, name: str, viewer: str | None
) -> None:
    """A username, an email, an alias, a Gerrit group and an included file's subsystem, each
    on the tree, subsystem and change pages, for an anonymous and a signed-in viewer."""
    entry, members = KINDS[name]
    who = basic(viewer) if viewer else {}
    data.GROUPS.clear()
    data.CONFIGS.clear()
    sub = client.get(f"/api/v1/p/nova/+/kinds/s/{name}", headers=who)
    assert sub.status_code == 200
    owner = sub.get_json()["subsystem"]["owners"][0]
    assert owner["entry"] == entry
    if entry.startswith("gerrit:"):
        assert owner["members"] == (members if viewer else None)
    assert [c["change"] for c in sub.get_json()["queue"]] == [11]
    tree = client.get("/api/v1/p/nova/+/kinds/tree/", headers=who).get_json()
    assert tree["config"]["valid"], tree["config"]["problems"]
    assert name in [r["subsystem"] for r in tree["requirements"]]
    change = client.get("/api/v1/c/11", headers=who).get_json()
    found = {r["subsystem"]: r for r in change["requirements"]}
    assert found[name]["eligible"], change
    assert not change["notes"], change["notes"]  # no fallback: the included file was read
    for address in (f"/p/nova/+/kinds/s/{name}", "/p/nova/+/kinds/tree/", "/c/11"):
        page = client.get(address, headers=who)
        assert page.status_code == 200 and entry in page.get_data(as_text=True), address


# -- error pages ---------------------------------------------------------------------------------

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # Chromium's


@pytest.mark.parametrize("address", ["/c/abc", "/nothing/here", "/c/999"])
def test_errors_answer_a_browser_html_and_an_api_client_json(
    client: FlaskClient, address: str
) -> None:
    page = client.get(address, headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<h1>404</h1>" in page.get_data(as_text=True)
    for accept in ("application/json", "*/*", None):
        answer = client.get(address, headers={"Accept": accept} if accept else {})
        assert answer.status_code == 404 and answer.is_json, accept
        assert "error" in answer.get_json()
    api = client.get("/api/v1" + address, headers={"Accept": BROWSER})
    assert api.status_code == 404 and api.is_json


def test_an_unexpected_error_answers_a_browser_an_html_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(data, "change", broken)
    page = client.get("/c/3", headers={"Accept": BROWSER})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "a bug" not in page.get_data(as_text=True)
    api = client.get("/api/v1/c/3", headers={"Accept": BROWSER})
    assert api.status_code == 500 and api.is_json


@pytest.mark.parametrize("address", ["/c/abc", "/c/999", "/p/nova/+/master/tree/nothing"])
def test_an_error_page_shows_who_is_signed_in(client: FlaskClient, address: str) -> None:
    page = client.get(address, headers={**basic("alice"), "Accept": BROWSER})
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "signed in as <strong>alice</strong>" in text and "anonymous" not in text
    wrong = client.get("/c/3", headers={**basic("alice", "wrong"), "Accept": BROWSER})
    assert wrong.status_code == 401 and "signed in" not in wrong.get_data(as_text=True)


def test_the_index_leaves_out_gerrits_own_projects(client: FlaskClient) -> None:
    """All-Projects and All-Users have no branch to browse (404 when clicked)."""
    for who in ({}, basic("alice")):
        assert client.get("/api/v1/", headers=who).get_json()["projects"][0] == "nova"
        assert "All-" not in client.get("/", headers=who).get_data(as_text=True)


# -- assets --------------------------------------------------------------------------------------


def test_assets_are_fingerprinted_and_cached_while_pages_are_not(client: FlaskClient) -> None:
    for who in ({}, basic("alice")):
        page = client.get("/p/nova/+/master/tree/", headers=who)
        assert page.headers["Cache-Control"] == "private, no-store", who
        assert page.headers["Vary"] == "Authorization"
        html = page.get_data(as_text=True)
        assets = re.findall(r'(?:href|src)="(/static/owners/[^"]+)"', html)
        assert {a.split("?")[0].rsplit("/", 1)[1] for a in assets} == {
            "style.css",
            "tree.js",
            "favicon.svg",
        }
        for address in assets:
            asset = client.get(address, headers=who)
            assert asset.status_code == 200, address
            control = asset.headers["Cache-Control"]
            assert control == "public, max-age=31536000, immutable", (address, control)
        plain = client.get("/static/owners/style.css", headers=who)
        assert plain.headers["Cache-Control"] == "public, max-age=300"
        stale = client.get("/static/owners/style.css?v=0000", headers=who)
        assert stale.headers["Cache-Control"] == "public, max-age=300"


def test_a_favicon(client: FlaskClient) -> None:
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_paths_wrap_after_a_slash_not_inside_a_name(client: FlaskClient) -> None:
    """File names broke every few characters on a phone (`word-break: break-all`)."""
    text = client.get("/c/5").get_data(as_text=True)
    seg = '<span class="seg">{}</span>'.format
    names = ("nova/", "virt/", "hyperv/", "driver.py")
    assert f"<code>{''.join(seg(n) for n in names)}</code>" in text
    found = client.get("/p/nova/+/master/tree/?q=script").get_data(as_text=True)
    names = ("nova/", "&lt;script&gt;alert(&#34;x&#34;)&lt;/", "script&gt;.py")
    assert "".join(seg(n) for n in names) in found  # escaped
    css = client.get("/static/owners/style.css").get_data(as_text=True)
    assert "break-all" not in css and "@media (max-width" in css


def test_report_page_lists_paths_whose_every_owner_is_away_or_inactive(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.accounts["victor"] = {**account("victor"), "status": "away until 12 Dec"}
    fake.accounts["wendy"] = {**account("wendy"), "inactive": True}
    text = client.get("/p/nova/+/master/report?days=36499").get_data(as_text=True)
    orphaned = text.split("<h2>Paths whose every owner is inactive or away</h2>")[1]
    orphaned = orphaned.split("</ul>")[0]
    assert "vmware</a>: nova/virt/vmwareapi/" in orphaned
    assert "victor: away until 12 Dec; wendy: inactive account" in orphaned
    api = client.get("/api/v1/p/nova/+/master/report?days=36499").get_json()
    vmware = next(s for s in api["health"]["subsystems"] if s["subsystem"] == "vmware")
    assert vmware["status"] == "Orphan"
