"""Who opens the instructor's board (labkit/lab/server/board.py), on the lab's own WSGI app:
the home's secret (a signed request), or the session cookie a one-time ticket gives a browser;
nothing else, a learner's registry token included, and nothing from another site's page."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from labkit.lab.auth.admin import authorization
from labkit.lab.auth.board import COOKIE
from labkit.lab.auth.signing import load_secret
from labkit.lab.server.app import LabApp, LabSettings
from labkit.room.table import HEADER

HOST = "127.0.0.1:5400"


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[LabApp]:
    yield LabApp(LabSettings(home=tmp_path, port=5400))


def client(lab: LabApp) -> Client:
    return Client(lab)


def signed(lab: LabApp, method: str, path: str, query: str = "") -> dict[str, str]:
    secret = load_secret(lab.settings.home)
    return {"Authorization": authorization(secret, method, path, query)}


def open_board(lab: LabApp, c: Client) -> str:
    """`labkit lab board`'s ticket, redeemed as a browser does: the session cookie's value."""
    made = c.post("/_labkit/board/ticket", headers=signed(lab, "POST", "/_labkit/board/ticket"))
    assert made.status_code == 201, made.get_data(as_text=True)
    ticket = made.json["ticket"]
    got = c.get(f"/_labkit/board?ticket={ticket}", headers={"Sec-Fetch-Site": "none"})
    assert got.status_code == 303 and got.headers["Location"] == "/_labkit/board"
    cookie = got.headers["Set-Cookie"]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/_labkit/board"):
        assert part in cookie, cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    again = Client(lab).get(f"/_labkit/board?ticket={ticket}")
    assert again.status_code == 403  # a ticket opens once
    return cookie.split(";", 1)[0].split("=", 1)[1]


def test_the_ticket_leaves_the_url_and_the_boards_options_stay(lab: LabApp) -> None:
    c = client(lab)
    ticket = c.post("/_labkit/board/ticket",
                    headers=signed(lab, "POST", "/_labkit/board/ticket")).json["ticket"]
    got = c.get(f"/_labkit/board?ticket={ticket}&idle=5&repeats=2")
    assert got.status_code == 303 and got.headers["Location"] == "/_labkit/board?idle=5&repeats=2"


def test_nobody_but_the_instructor_opens_the_board(lab: LabApp) -> None:
    token = lab.access.issue_token(lab.access.store.default_principal, "us-east-1", 3600)
    basic = "Basic " + base64.b64encode(f"AWS:{token.password}".encode()).decode()
    sigv4 = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/ecr/"
             "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    for path in ("/_labkit/board", "/_labkit/board/rows", "/_labkit/board/rows.csv"):
        for headers in ({}, {"Authorization": basic}, {"Authorization": sigv4},
                        {"Cookie": f"{COOKIE}=made-up"}):
            r = client(lab).get(path, headers=headers)
            assert r.status_code == 403, (path, headers, r.status_code)
            assert "Access-Control-Allow-Origin" not in r.headers
    # a signature with another secret is no better
    bad = authorization(b"x" * 32, "GET", "/_labkit/board/rows", "")
    assert client(lab).get("/_labkit/board/rows", headers={"Authorization": bad}
                           ).status_code == 403
    # nor can a learner make a ticket
    assert client(lab).post("/_labkit/board/ticket", headers={"Authorization": basic}
                            ).status_code == 403


def test_a_ticket_gives_the_browser_the_board_and_nothing_else(lab: LabApp) -> None:
    c = client(lab)
    session = open_board(lab, c)
    cookie = {"Cookie": f"{COOKIE}={session}", "Sec-Fetch-Site": "same-origin"}
    page = c.get("/_labkit/board", headers=cookie)
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    html = page.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in html and "http://" not in html.replace(
        "http://www.w3.org", "")  # nothing fetched from elsewhere
    rows = c.get("/_labkit/board/rows", headers=cookie).json
    assert [r["account"] for r in rows["rows"]] == [lab.settings.account_id]
    assert [s[0] for s in rows["steps"]][:3] == ["created", "logged_in", "pushed"]
    # nothing happened since: the flags alone
    again = c.get(f"/_labkit/board/rows?since={rows['last']}&accounts={rows['accounts']}",
                  headers=cookie).json
    assert again["unchanged"] is True and set(again["flags"]) == {lab.settings.account_id}
    table = c.get("/_labkit/board/rows.csv", headers=cookie)
    assert table.mimetype == "text/csv" and "attachment" in table.headers["Content-Disposition"]
    assert next(csv.reader(io.StringIO(table.get_data(as_text=True)))) == HEADER
    # the cookie opens the board only: not the trace, not a ticket
    assert c.get("/_labkit/trace", headers=cookie).status_code == 401
    assert c.post("/_labkit/board/ticket", headers=cookie).status_code == 403


def test_another_sites_page_gets_nothing_even_with_the_cookie(lab: LabApp) -> None:
    c = client(lab)
    session = open_board(lab, c)
    for extra in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                  {"Origin": "http://localhost:8888"}):
        r = c.get("/_labkit/board/rows", headers={"Cookie": f"{COOKIE}={session}", **extra})
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
    # and the board changes nothing: no method but GET (and the signed ticket's POST)
    r = c.post("/_labkit/board/rows", headers={"Cookie": f"{COOKIE}={session}"})
    assert r.status_code == 405


def test_the_instructors_tools_sign_as_for_every_lab_endpoint(lab: LabApp) -> None:
    query = "idle=5&repeats=2"
    r = client(lab).get(f"/_labkit/board/rows?{query}",
                        headers=signed(lab, "GET", "/_labkit/board/rows", query))
    assert r.status_code == 200 and r.json["idle_minutes"] == 5 and r.json["repeats"] == 2
    bad = client(lab).get("/_labkit/board/rows?idle=-1",
                          headers=signed(lab, "GET", "/_labkit/board/rows", "idle=-1"))
    assert bad.status_code == 400 and "idle" in bad.json["error"]
