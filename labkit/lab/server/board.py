"""The instructor's board on the wire: `/_labkit/board` (the page), `/_labkit/board/rows` (its
JSON, polled), `/_labkit/board/rows.csv` (the download) and `/_labkit/board/ticket` (how the
instructor's browser gets in).

For the instructor only. Every request passes, in this order:

1. no cross-site browser request (admin.py's `cross_site`: `Sec-Fetch-Site`, `Origin`): 403;
   and no CORS header is ever sent, so another site's script reads nothing;
2. GET (or HEAD) only, and no body; the ticket is a POST;
3. either a request signed with the home's secret (auth/admin.py, as `labkit lab board` sends
   it), or the board's session cookie (auth/board.py), which only a ticket from a signed
   request makes; a ticket is only ever made for a signed request. Anything else, a
   learner's SigV4 keys or registry token included, gets 403.

The page polls `rows?since=N&accounts=K` every few seconds (short requests: the front door's
worker threads are not held, as a Server-Sent Events stream would hold one per open board);
while the trace has not moved past N and no account was added, the answer is the flags alone.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from ...room import board, table
from ...room.page import render
from ..auth.admin import SCHEME, AdminVerifier
from ..auth.board import BoardPasses, session_of, set_cookie
from .admin import cross_site
from .boardfeed import BoardFeed

if TYPE_CHECKING:
    from .app import LabApp

log = logging.getLogger("labkit.lab")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]

PAGE = "/_labkit/board"
ROWS = "/_labkit/board/rows"
CSV = "/_labkit/board/rows.csv"
TICKET = "/_labkit/board/ticket"
PATHS = frozenset({PAGE, ROWS, CSV, TICKET})
SCHEMA = 1
NOT_YOURS = ("the instructor's board needs the lab's secret: on the lab's machine, run "
             "`labkit lab board` and open the URL it prints")
SECURITY_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")]


class Refused(Exception):
    def __init__(self, status: str, why: str):
        super().__init__(why)
        self.status, self.why = status, why


def _number(query: dict[str, list[str]], name: str, default: float, low: float, high: float
            ) -> float:
    raw = (query.get(name) or [""])[0]
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise Refused("400 Bad Request", f"{name} must be a number") from None
    if not low <= value <= high:
        raise Refused("400 Bad Request", f"{name} must be between {low:g} and {high:g}")
    return value


class BoardApp:
    """WSGI app for the board's paths (see the module's doc)."""

    def __init__(self, lab: LabApp, verifier: AdminVerifier, clock: Callable[[], float] = time.time):
        self.lab = lab
        self.verifier = verifier
        self.clock = clock
        self.passes = BoardPasses(clock)
        self.feed = BoardFeed(lab)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        try:
            return self._answer(environ, start_response, method, path)
        except Refused as e:
            if not e.status.startswith(("404", "405")):
                log.warning("refused %s %s: %s", method, path, e.why)  # never the query
            if path == PAGE and "text/html" in environ.get("HTTP_ACCEPT", ""):
                return self._send(start_response, e.status, "text/html; charset=utf-8",
                                  _refusal_page(e.why).encode())
            return self._json(start_response, {"error": e.why}, e.status)

    def _answer(self, environ: Environ, start_response: StartResponse, method: str,
                path: str) -> Iterable[bytes]:
        if path not in PATHS:
            raise Refused("404 Not Found", f"no such lab endpoint {path}")
        why = cross_site(environ)
        if why:
            raise Refused("403 Forbidden", f"refused {why}: the board answers only its own "
                          "page and the instructor's tools")
        wanted = ("POST",) if path == TICKET else ("GET", "HEAD")
        if method not in wanted:
            raise Refused("405 Method Not Allowed", f"{method} is not allowed on {path}: use "
                          f"{' or '.join(wanted)}")
        if environ.get("CONTENT_LENGTH", "0") not in ("", "0") or environ.get(
                "HTTP_TRANSFER_ENCODING"):
            raise Refused("413 Request Entity Too Large", "the board's requests carry no body")
        query = environ.get("QUERY_STRING", "")
        args = parse_qs(query)
        header = environ.get("HTTP_AUTHORIZATION") or ""
        signed = header.strip().lower().startswith(SCHEME.lower() + " ")
        if signed:
            refused = self.verifier.check(method, path, query, b"", header)
            if refused:
                raise Refused("403 Forbidden", refused)
        elif path == TICKET or not self.passes.valid(session_of(environ.get("HTTP_COOKIE"))):
            ticket = (args.get("ticket") or [""])[0]
            if path == PAGE and ticket:
                return self._redeem(environ, start_response, ticket, args)
            raise Refused("403 Forbidden", NOT_YOURS)
        if path == TICKET:
            return self._json(start_response, {"ticket": self.passes.ticket(), "path": PAGE},
                              "201 Created")
        if path == PAGE:
            nonce = secrets.token_urlsafe(16)
            csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}';"
                   " connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'")
            return self._send(start_response, "200 OK", "text/html; charset=utf-8",
                              render(nonce).encode(), [("Content-Security-Policy", csp)])
        idle = _number(args, "idle", board.IDLE_MINUTES, 0, 24 * 60)
        repeats = int(_number(args, "repeats", board.REPEATS, 1, 1000))
        snap = self.feed.snapshot()
        now = self.clock()
        started = self.lab.settings.started
        flags = {a: board.flags(p, now, since=started, idle_minutes=idle, repeats=repeats)
                 for a, p in snap.progress.items()}
        rows = [dict(r, flags=flags.get(r["account"], [])) for r in snap.rows]
        if path == CSV:
            return self._send(start_response, "200 OK", "text/csv; charset=utf-8",
                              table.to_csv(rows).encode(), [
                                  ("Content-Disposition", 'attachment; filename="board.csv"')])
        doc: dict[str, Any] = {"schema": SCHEMA, "last": snap.last, "accounts": snap.accounts,
                               "now": now, "started": started, "idle_minutes": idle,
                               "repeats": repeats}
        since = (args.get("since") or [""])[0]
        if since == str(snap.last) and (args.get("accounts") or [""])[0] == str(snap.accounts):
            doc.update(unchanged=True, flags=flags)
        else:
            doc.update(steps=[list(s) for s in board.STEPS], rows=rows)
        return self._json(start_response, doc)

    def _redeem(self, environ: Environ, start_response: StartResponse, ticket: str,
                args: dict[str, list[str]]) -> Iterable[bytes]:
        """Spend the ticket for a session cookie; back to the page's URL without the ticket
        (its options, such as idle=, stay)."""
        session = self.passes.redeem(ticket)
        if session is None:
            raise Refused("403 Forbidden", "this board ticket is spent or expired (a ticket "
                          "opens the board once, within 5 minutes): run `labkit lab board` "
                          "again")
        secure = environ.get("wsgi.url_scheme") == "https"
        options = urlencode([(k, v) for k, vs in args.items() if k != "ticket" for v in vs])
        return self._send(start_response, "303 See Other", "text/plain; charset=utf-8",
                          b"the board is open in this browser\n",
                          [("Location", PAGE + (f"?{options}" if options else "")),
                           ("Set-Cookie", set_cookie(session, secure))])

    @staticmethod
    def _send(start_response: StartResponse, status: str, ctype: str, body: bytes,
              headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                *SECURITY_HEADERS, *(headers or [])])
        return [body]

    def _json(self, start_response: StartResponse, doc: Any, status: str = "200 OK"
              ) -> Iterable[bytes]:
        return self._send(start_response, status, "application/json", json.dumps(doc).encode())


def _refusal_page(why: str) -> str:
    from html import escape

    return ("<!doctype html><meta charset=utf-8><title>labkit: the instructor's board</title>"
            f"<body style='font:24px sans-serif;margin:2em'><h1>Not for this browser</h1>"
            f"<p>{escape(why)}</p></body>")
