"""How the instructor's browser opens the board: a one-time ticket, then a session cookie.

The lab's own endpoints take a request signed with the home's secret (auth/admin.py); a browser
cannot sign, and must not hold that secret (it opens every `/_labkit/` endpoint, shutdown
included). So whoever holds the secret (`labkit lab board`, a signed request) asks the lab
for a ticket: random, good for TICKET_TTL seconds, once. The browser opens
`/_labkit/board?ticket=...`; the lab takes the ticket back, answers with a session cookie
(`HttpOnly`: no script reads it; `SameSite=Strict`: no other site's page makes the browser send
it; `Path=/_labkit/board`: it opens the board's pages and nothing else) and redirects to the
bare URL, so the ticket leaves the address bar and the history. The session is good for the
board only, for SESSION_TTL seconds, and is forgotten when the lab stops.

Only hashes are kept, so the lab's memory holds no usable ticket or session.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

TICKET_TTL = 300.0
SESSION_TTL = 12 * 3600.0
KEEP = 64  # tickets, and sessions, kept at most (the oldest go first)
COOKIE = "labkit_board"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class BoardPasses:
    """Tickets (one-time, short) and sessions (a browser's, long) for the board."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._tickets: dict[str, float] = {}  # hash -> until
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()

    def _keep(self, table: dict[str, float], key: str, until: float) -> None:
        now = self._clock()
        for k in [k for k, t in table.items() if t <= now]:
            del table[k]
        while len(table) >= KEEP:
            del table[min(table, key=table.__getitem__)]
        table[key] = until

    def ticket(self) -> str:
        """A new ticket (for the holder of the secret to hand to a browser)."""
        value = secrets.token_urlsafe(24)
        with self._lock:
            self._keep(self._tickets, _hash(value), self._clock() + TICKET_TTL)
        return value

    def redeem(self, ticket: str) -> str | None:
        """A new session for a good, fresh, unused ticket (which is then spent), else None."""
        with self._lock:
            until = self._tickets.pop(_hash(ticket), 0.0)
            if until <= self._clock():
                return None
            session = secrets.token_urlsafe(32)
            self._keep(self._sessions, _hash(session), self._clock() + SESSION_TTL)
        return session

    def valid(self, session: str | None) -> bool:
        if not session:
            return False
        with self._lock:
            return self._sessions.get(_hash(session), 0.0) > self._clock()

    def __repr__(self) -> str:
        return f"BoardPasses({len(self._tickets)} tickets, {len(self._sessions)} sessions)"


def session_of(cookie_header: str | None) -> str | None:
    """The board's session from a `Cookie` header, or None."""
    from http.cookies import CookieError, SimpleCookie

    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def set_cookie(session: str, secure: bool) -> str:
    """The `Set-Cookie` value for a new session."""
    return (f"{COOKIE}={session}; Path=/_labkit/board; Max-Age={int(SESSION_TTL)}; HttpOnly; "
            f"SameSite=Strict" + ("; Secure" if secure else ""))
