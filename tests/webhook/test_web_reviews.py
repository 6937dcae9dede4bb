# ruff: noqa: F811  (the fixtures of test_web, imported, are parameters here)
"""My reviews, per-file owner status, and "Ask these owners" with its CSRF protection, on
the in-memory Gerrit of `test_web` (alice is a hyperv owner through the hyperv-core alias,
zed writes every change, change 7 is private to zed)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from owners.views.queue import queue_text
from webhook.web import data

from .conftest import FakeGerrit, account
from .test_web import ViewerGerrit, basic, client, fake  # noqa: F401  (its fixtures, used by name)

ORIGIN = "https://owners.example.org"  # the client's public_url
AWAY = "away until 12 Dec"


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    """The tests edit changes in place without moving their `updated` time, which Gerrit
    would: nothing judged in one test may be remembered in the next."""
    data.QUEUE_MEMO.clear()
    data.PEOPLE.clear()
    yield
    data.QUEUE_MEMO.clear()
    data.PEOPLE.clear()


def test_my_reviews_lists_what_needs_alice_oldest_first_with_names(client: FlaskClient) -> None:
    found = client.get("/api/v1/reviews", headers=basic("alice")).get_json()
    assert found["reviewer"] == {"username": "alice", "email": "alice@example.org",
                                 "name": "Alice"}  # fmt: skip
    needs = [c["change"] for c in found["needs_you"]]
    assert needs == [3, 5]  # 7 is private to zed; same age: by number
    first = found["needs_you"][0]
    assert [r["subsystem"] for r in first["yours"]] == ["hyperv"]
    assert first["owner"] == {"username": "zed", "name": "Zed"}
    assert {r["subsystem"] for r in first["others"]} == {"root"}
    assert found["waiting_for_others"] == []
    hyperv = [s for s in found["subsystems"] if s["subsystem"] == "hyperv"]
    assert hyperv and hyperv[0]["via"] == "alias" and hyperv[0]["through"] == ["hyperv-core"]


def test_my_reviews_moves_a_change_alice_approved_to_waiting_for_others(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.changes[3]["labels"]["Code-Review"]["all"].append(
        {"_account_id": 1_000_000 + sum(map(ord, "alice")), "username": "alice",
         "email": "alice@example.org", "name": "Alice", "value": 2}
    )  # fmt: skip
    found = client.get("/api/v1/reviews", headers=basic("alice")).get_json()
    assert [c["change"] for c in found["needs_you"]] == [5]
    waiting = found["waiting_for_others"]
    assert [c["change"] for c in waiting] == [3]
    assert waiting[0]["yours"][0]["approved_by"] == ["alice"]


def test_my_reviews_marks_private_changes_and_never_lists_a_writers_own(
    client: FlaskClient,
) -> None:
    found = client.get("/api/v1/reviews", headers=basic("zed")).get_json()
    assert found["needs_you"] == [] and found["subsystems"] == []  # zed owns nothing
    page = client.get("/reviews", headers=basic("alice"))
    assert page.status_code == 200 and "My reviews" in page.get_data(as_text=True)


def test_my_reviews_asks_an_anonymous_visitor_to_sign_in(client: FlaskClient) -> None:
    answer = client.get("/api/v1/reviews")
    assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers


def test_the_change_page_gives_each_files_owner_status(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.changes[3].setdefault("reviewers", {})["REVIEWER"] = [
        {"_account_id": 1_000_000 + sum(map(ord, "alice")), "username": "alice",
         "email": "alice@example.org", "name": "Alice"}
    ]  # fmt: skip
    found = client.get("/api/v1/c/3", headers=basic("alice")).get_json()
    status = {f["path"]: f for f in found["file_status"]}
    assert status["nova/virt/hyperv/driver.py"]["state"] == "pending"
    assert status["nova/virt/hyperv/driver.py"]["asked"] == ["alice"]
    assert status["nova/compute/api.py"]["state"] == "unasked"
    assert "root" in status["nova/compute/api.py"]["requirements"]


def test_the_change_page_ranks_the_suggestions_and_says_why(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.accounts["dave"] = {**account("dave"), "status": AWAY}
    found = client.get("/api/v1/c/3", headers=basic("zed")).get_json()
    suggestion = found["suggestion"]
    assert suggestion["reviewers"] and "dave" not in suggestion["reviewers"]
    assert found["check"]["suggested_reviewers"] == suggestion["reviewers"]
    assert f"dave: {AWAY}" in suggestion["why"]
    page = client.get("/c/3", headers=basic("zed")).get_data(as_text=True)
    assert f"dave: {AWAY}" in page and ", ".join(suggestion["reviewers"]) in page


def test_the_ranking_reads_people_as_the_viewer_and_keeps_them_per_viewer(
    client: FlaskClient, fake: FakeGerrit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dave's status is shown to alice only: zed is ranked without it, though alice asked
    first and her answer is kept; a second view of alice's reads no person again."""
    fake.accounts["dave"] = {**account("dave"), "status": AWAY}
    reads: list[tuple[str | None, str]] = []
    real_get = ViewerGerrit.get

    def get(self: ViewerGerrit, path: str, params: Any = None, **kw: Any) -> Any:
        if path in ("accounts/", "changes/"):  # the people queries (the change is changes/<id>)
            reads.append((self.user, path))
            if path == "accounts/" and self.user != "alice":
                return []
        return real_get(self, path, params, **kw)

    monkeypatch.setattr(ViewerGerrit, "get", get)
    alice = client.get("/api/v1/c/3", headers=basic("alice")).get_json()["suggestion"]
    assert "dave" not in alice["reviewers"] and f"dave: {AWAY}" in alice["why"]
    alice_reads = reads.count(("alice", "accounts/"))
    assert alice_reads >= 1
    zed = client.get("/api/v1/c/3", headers=basic("zed")).get_json()["suggestion"]
    assert AWAY not in zed["why"] and reads.count(("zed", "accounts/")) >= 1
    before = len(reads)
    again = client.get("/api/v1/c/3", headers=basic("alice")).get_json()["suggestion"]
    assert again == alice and len(reads) == before


def test_the_ranking_is_read_again_after_its_bound(
    client: FlaskClient, fake: FakeGerrit, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(data, "PEOPLE", data.Cache(size=100, ttl=60.0, clock=lambda: now[0]))
    first = client.get("/api/v1/c/3", headers=basic("zed")).get_json()["suggestion"]
    assert AWAY not in first["why"]
    fake.accounts["dave"] = {**account("dave"), "status": AWAY}
    assert client.get("/api/v1/c/3", headers=basic("zed")).get_json()["suggestion"] == first
    now[0] += 61
    later = client.get("/api/v1/c/3", headers=basic("zed")).get_json()["suggestion"]
    assert f"dave: {AWAY}" in later["why"] and "dave" not in later["reviewers"]


def _form(client: FlaskClient, number: int, user: str) -> str:
    page = client.get(f"/c/{number}", headers=basic(user)).get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, page
    return token.group(1)


def test_ask_these_owners_adds_the_suggested_reviewers_as_the_viewer(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.accounts["dave"] = {**account("dave"), "status": AWAY}
    before = client.get("/api/v1/c/3", headers=basic("zed")).get_json()
    suggested = before["suggestion"]["reviewers"]  # ranked: dave is away
    assert suggested and "dave" not in suggested and before["reviewers"] == []
    token = _form(client, 3, "zed")
    answer = client.post("/c/3/ask", data={"csrf": token},
                         headers={**basic("zed"), "Origin": ORIGIN})  # fmt: skip
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/c/3?asked=1")
    page = client.get(answer.headers["Location"], headers=basic("zed")).get_data(as_text=True)
    assert "Reviewers now: " + ", ".join(suggested) in page
    posted = [(p, b) for m, p, b in fake._bodies if m == "POST"]
    assert posted == [("changes/nova~3/reviewers", {"reviewer": r}) for r in suggested]


def test_my_reviews_offers_ask_these_owners_where_no_owner_is_asked(
    client: FlaskClient, fake: FakeGerrit
) -> None:
    fake.accounts["dave"] = {**account("dave"), "status": AWAY}
    found = client.get("/api/v1/reviews", headers=basic("alice")).get_json()
    listed = [*found["needs_you"], *found["waiting_for_others"]]
    change = next(c for c in listed if c["change"] == 3)
    assert change["no_owner_asked"] and change["suggested_reviewers"]
    assert "dave" not in change["suggested_reviewers"]  # ranked, as on the change page
    page = client.get("/reviews", headers=basic("alice")).get_data(as_text=True)
    forms = dict(re.findall(r'action="/c/(\d+)/ask">.*?name="csrf" value="([^"]+)"', page))
    assert sorted(map(int, forms)) == sorted(c["change"] for c in listed if c["no_owner_asked"])
    answer = client.post("/c/3/ask", data={"csrf": forms["3"]},
                         headers={**basic("alice"), "Origin": ORIGIN})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/c/3?asked=1")
    posted = [(p, b) for m, p, b in fake._bodies if m == "POST"]
    assert posted == [
        ("changes/nova~3/reviewers", {"reviewer": r}) for r in change["suggested_reviewers"]
    ]


def test_my_reviews_ranks_only_the_changes_in_the_queue(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zed wrote every change, so none waits for him: his queue reads nobody's status."""
    people_reads: list[str | None] = []
    real_get = ViewerGerrit.get

    def get(self: ViewerGerrit, path: str, params: Any = None, **kw: Any) -> Any:
        if path == "accounts/":
            people_reads.append(self.user)
        return real_get(self, path, params, **kw)

    monkeypatch.setattr(ViewerGerrit, "get", get)
    assert client.get("/api/v1/reviews", headers=basic("zed")).get_json()["needs_you"] == []
    assert people_reads == []
    client.get("/api/v1/reviews", headers=basic("alice"))
    assert "alice" in people_reads


def test_a_cross_site_post_is_refused(client: FlaskClient, fake: FakeGerrit) -> None:
    token = _form(client, 3, "alice")
    attempts = {
        "another origin": ({"Origin": "https://evil.example"}, {"csrf": token}),
        "no origin nor referer": ({}, {"csrf": token}),
        "a null origin": ({"Origin": "null"}, {"csrf": token}),
        "no token": ({"Origin": ORIGIN}, {}),
        "a forged token": ({"Origin": ORIGIN}, {"csrf": token[:-2] + "xx"}),
        "a token not in ASCII": ({"Origin": ORIGIN}, {"csrf": token[:-1] + "é"}),
    }
    for why, (headers, form) in attempts.items():
        answer = client.post("/c/3/ask", data=form, headers={**basic("alice"), **headers})
        assert answer.status_code == 403, why
    assert "reviewers" not in fake.changes[3] or not fake.changes[3]["reviewers"].get("REVIEWER")


def test_a_token_made_for_one_viewer_does_not_pass_for_another(client: FlaskClient) -> None:
    token = _form(client, 3, "alice")
    answer = client.post("/c/3/ask", data={"csrf": token},
                         headers={**basic("zed"), "Origin": ORIGIN})  # fmt: skip
    assert answer.status_code == 403


# -- the documented examples -------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documented_queue() -> dict[str, Any]:
    text = (DOCS / "api.md").read_text()
    block = re.search(r"### My reviews: .*?```json\n(.*?)```", text, re.DOTALL)
    assert block, "docs/api.md has no My reviews example"
    return json.loads(block.group(1))


def _shape(value: Any) -> Any:
    """The keys of every object, recursively (a list by its first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], (dict, list)) else []
    return None


def test_the_documented_queue_has_the_apis_shape(client: FlaskClient, fake: FakeGerrit) -> None:
    fake.changes[3]["labels"]["Code-Review"]["all"].append(
        {"_account_id": 1_000_000 + sum(map(ord, "alice")), "username": "alice",
         "email": "alice@example.org", "name": "Alice", "value": 2}
    )  # fmt: skip
    found = client.get("/api/v1/reviews", headers=basic("alice")).get_json()
    assert found["needs_you"] and found["waiting_for_others"]
    assert _shape(found) == _shape(_documented_queue())


def test_owners_queue_prints_the_documented_example() -> None:
    text = (DOCS / "cli.md").read_text()
    block = re.search(r"```console\n\$ owners queue\n(.*?)```", text, re.DOTALL)
    assert block, "docs/cli.md has no owners queue example"
    assert queue_text(_documented_queue()) + "\n" == block.group(1)


def test_the_documented_file_status_has_the_apis_shape(client: FlaskClient) -> None:
    text = (DOCS / "api.md").read_text()
    block = re.search(r"`file_status`, one object per file:\n\n```json\n(.*?)```", text, re.DOTALL)
    assert block
    found = client.get("/api/v1/c/3", headers=basic("alice")).get_json()["file_status"]
    assert _shape(found) == _shape(json.loads(block.group(1)))
