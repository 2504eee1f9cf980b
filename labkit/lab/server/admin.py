"""The lab's own endpoints under `/_labkit/`: its status, trace and operations, its settings,
clock and lifecycle runs, and its process (whoami, shutdown).

They change a running lab or tell what it saw, so they answer only the holder of the home's
secret (a learner on their own machine, the instructor of a room), and nothing a web page can
make a browser send. Every request passes, in this order:

1. no cross-site browser request: a `Sec-Fetch-Site` other than `same-origin` or `none`, or an
   `Origin` other than the lab's own, gets 403 and nothing is done (a page the learner visits
   can make the browser send a form POST, but not forge these headers);
2. a body is JSON, said so: `Content-Type: application/json` (else 415), at most 64 KiB (413);
3. a signature with the home's secret (`labkit/lab/auth/admin.py`: fresh, used once, over the
   method, path, query and body), else 401; only `GET /_labkit/whoami` is open, its answer
   being itself a proof made with the secret, `POST /_labkit/room/join`, which takes a
   learner's join code instead, `GET /_labkit/room/ca`, a public certificate, and `GET
   /_labkit/room/trace`, a learner's own requests, signed with the learner's keys (roomdoor.py),
   and what a learner may do to their own account's clock, token lifetime, lifecycle runs and
   second accounts, signed the same way (roomself.py).

The instructor's board (`/_labkit/board...`) is its own app (board.py): it takes the same
signature, or the session cookie a signed request's one-time ticket gives the instructor's
browser, behind the same cross-site guard.

The docker-facing `/v2/` and the AWS APIs are not here: they keep their own credentials.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ...trace import record as rec
from ..auth.admin import SCHEME, AdminVerifier
from ..auth.signing import Signer
from ..auth.tokens import lifetime_of
from ..process import whoami
from ..process.identity import SHUTDOWN, WHOAMI
from .roomdoor import CA as ROOM_CA
from .roomdoor import JOIN as ROOM_JOIN
from .roomdoor import LEARNERS as ROOM_LEARNERS
from .roomdoor import TRACE as ROOM_TRACE
from .roomdoor import RoomDoor
from .roomself import PATHS as LEARNER_SELF
from .roomself import LearnerSelf

if TYPE_CHECKING:
    from ..access.identities import NewAccount
    from .app import LabApp

log = logging.getLogger("labkit.lab")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]

PREFIX = "/_labkit/"
BOARD = "/_labkit/board"  # the instructor's board: its own app (server/board.py)
MAX_BODY = 1 << 16
OPEN = frozenset({WHOAMI, ROOM_JOIN, ROOM_CA, ROOM_TRACE, *LEARNER_SELF})  # answered without
# the lab's signature: join takes a learner's code, the CA is a public certificate, and a
# learner's own trace, clock, token lifetime, lifecycle runs and second accounts take the
# learner's SigV4 signature (roomself.py)
SAME_SITE = frozenset({"same-origin", "none"})  # Sec-Fetch-Site values of the lab's own pages
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOO_LARGE = ("413 Request Entity Too Large", {"error": f"send a JSON body of at most {MAX_BODY} "
                                                       "bytes"})


@dataclass
class AdminRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    host: str = ""  # the Host header: the lab's address as the client reached it
    environ: dict[str, Any] | None = None  # for a handler that verifies the caller itself

    def arg(self, name: str, default: str = "") -> str:
        return (self.query.get(name) or [default])[0]

    def json(self) -> Any:
        """The body's JSON document ({} when empty); ValueError if it is not JSON."""
        return json.loads(self.body or b"{}")


@dataclass
class Answer:
    status: str
    doc: Any
    headers: list[tuple[str, str]] = field(default_factory=list)
    then: Callable[[], None] | None = None  # run once the answer has been sent


def made_account(lab: LabApp, made: NewAccount) -> Answer:
    """The answer to a request that made an account (or found it by name): its keys, and its
    registry in the lab's region, opened now so the answer can say where it is."""
    from dataclasses import asdict

    registry = lab.regions.open_home(made.account_id)
    return Answer("201 Created" if made.created else "200 OK",
                  {**asdict(made), "registry": lab.regions.address(registry)})


class _ThenRun:
    """A response body that runs `then` once the server has sent it (WSGI calls close)."""

    def __init__(self, body: bytes, then: Callable[[], None]):
        self._body, self._then = body, then

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._then()


def cross_site(environ: Environ) -> str | None:
    """Why the request comes from another site's page, or None (a non-browser client sends
    neither header; the lab's own pages are same-origin)."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site is not None and site.strip().lower() not in SAME_SITE:
        return f"a {site} request from a browser page"
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        if origin.strip().lower() != own.lower():
            return f"a request from the page of another origin ({origin[:100]})"
    return None


def _content_length(environ: Environ) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _read(environ: Environ, limit: int) -> bytes | None:
    """The whole body, or None if it is longer than `limit` (read at most limit + 1 bytes)."""
    stream = environ["wsgi.input"]
    out = bytearray()
    while len(out) <= limit:
        chunk = stream.read(limit + 1 - len(out))
        if not chunk:
            return bytes(out)
        out += chunk
    return None


class AdminApp:
    """WSGI app for `/_labkit/`: the guard above, then one handler per path."""

    def __init__(self, lab: LabApp, secret: bytes):
        self.lab = lab
        self.verifier = AdminVerifier(secret)
        self.process = whoami.WhoamiRoutes(Signer(secret), lab.settings.home)
        self.room = RoomDoor(lab)  # a workshop room's learners and their join codes
        self.learner_self = LearnerSelf(lab, self.room.roster)  # what a learner may do
        self.routes: dict[str, Callable[[AdminRequest], Answer | None]] = {
            "/_labkit/status": self.status, "/_labkit/trace": self.trace,
            "/_labkit/operations": self.operations, "/_labkit/settings": self.settings,
            "/_labkit/accounts": self.accounts, WHOAMI: self.whoami, SHUTDOWN: self.shutdown,
            ROOM_LEARNERS: self.room.learners, ROOM_JOIN: self.room.join, ROOM_CA: self.room.ca,
            ROOM_TRACE: self.room.trace,
            **dict.fromkeys(LEARNER_SELF, self.learner_self.route)}
        self._board: Any = None
        self._board_lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == BOARD or path.startswith(BOARD + "/"):
            return self.board(environ, start_response)
        answer = self.answer(environ)
        if answer.status[0] in "45" and answer.status[:3] not in ("404", "405"):
            error = answer.doc.get("error") if isinstance(answer.doc, dict) else answer.doc
            log.warning("refused %s %s: %s", environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), error)
        return self._respond(start_response, answer)

    @property
    def board(self) -> Any:
        """The instructor's board (server/board.py: pages, not only JSON; the same secret, or
        the session it hands to the instructor's browser), made on its first request."""
        with self._board_lock:
            if self._board is None:
                from .board import BoardApp

                self._board = BoardApp(self.lab, self.verifier)
            return self._board

    def answer(self, environ: Environ) -> Answer:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        why = cross_site(environ)
        if why:
            return Answer("403 Forbidden", {"error": f"refused {why}: the lab's own endpoints "
                                            "answer only its own pages and local tools"})
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length is None or length > MAX_BODY:
            return Answer(*TOO_LARGE)
        ctype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        has_body = bool(length) or chunked
        # a form POST, even an empty one, says what it is: refused before anything else
        if (has_body or (ctype and method in BODY_METHODS)) and ctype != "application/json":
            return Answer("415 Unsupported Media Type", {
                "error": f"the lab's own endpoints take JSON bodies sent as Content-Type: "
                         f"application/json, not {ctype or 'a body without a Content-Type'}"})
        body = _read(environ, MAX_BODY) if has_body else b""
        if body is None:
            return Answer(*TOO_LARGE)
        query = environ.get("QUERY_STRING", "")
        if path not in OPEN:
            refused = self.verifier.check(method, path, query, body,
                                          environ.get("HTTP_AUTHORIZATION"))
            if refused:
                return Answer("401 Unauthorized", {"error": refused},
                              [("WWW-Authenticate", f'{SCHEME} realm="labkit"')])
        request = AdminRequest(method, path, parse_qs(query), body,
                               environ.get("HTTP_HOST", ""), environ)
        handler = self.routes.get(path, self.housekeeping)
        answer = handler(request)
        if answer is None:
            return Answer("404 Not Found", {"error": f"no such lab endpoint {path}"})
        return answer

    @staticmethod
    def _respond(start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
        out = json.dumps(answer.doc).encode()
        start_response(answer.status, [
            ("Content-Type", "application/json"), ("Content-Length", str(len(out))),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
            *answer.headers])
        return _ThenRun(out, answer.then) if answer.then else [out]

    # --- the handlers -------------------------------------------------------------------------
    @staticmethod
    def _only(request: AdminRequest, *methods: str) -> Answer | None:
        allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)
        if request.method in allowed:
            return None
        return Answer("405 Method Not Allowed",
                      {"error": f"{request.method} is not allowed on {request.path}: use "
                                f"{' or '.join(methods)}"})

    @staticmethod
    def _json(request: AdminRequest) -> Any:
        """The body's JSON document ({} when empty); ValueError if it is not JSON."""
        return json.loads(request.body or b"{}")

    def status(self, request: AdminRequest) -> Answer:
        return self._only(request, "GET") or Answer("200 OK", self.lab.status())

    def trace(self, request: AdminRequest) -> Answer:
        refused = self._only(request, "GET")
        if refused:
            return refused
        try:
            since = int(request.arg("since", "0") or 0)
        except ValueError:
            return Answer("400 Bad Request", {"error": "since must be a whole number"})
        trace = self.lab.trace
        return Answer("200 OK", {"schema": rec.SCHEMA, "last": trace.last_seq(),
                                 "requests": [r.to_dict() for r in trace.since(since)]})

    def operations(self, request: AdminRequest) -> Answer:
        """Which AWS API operations the lab answered, with their counts."""
        refused = self._only(request, "GET")
        if refused:
            return refused
        return Answer("200 OK", {"operations": self.lab.operations_answered()})

    def settings(self, request: AdminRequest) -> Answer:
        refused = self._only(request, "POST")
        if refused:
            return refused
        try:
            ttl = lifetime_of(self._json(request))
        except (ValueError, KeyError, TypeError) as e:
            return Answer("400 Bad Request", {"error": str(e)})
        self.lab.settings.token_ttl = ttl
        return Answer("200 OK", self.lab.status())

    def accounts(self, request: AdminRequest) -> Answer:
        """GET: the lab's accounts ({id: name}); POST {"name": ...}: a new account, its
        administrator `admin` and that user's access key (`labkit lab account create`)."""
        from ..access.identities import IdentityError

        refused = self._only(request, "GET", "POST")
        if refused:
            return refused
        access = self.lab.access
        if request.method in ("GET", "HEAD"):
            return Answer("200 OK", {"accounts": access.store.accounts(),
                                     "registries": self.lab.regions.accounts()})
        try:
            name = self._json(request).get("name")
            made = access.create_account(str(name or ""))
        except (ValueError, AttributeError) as e:
            return Answer("400 Bad Request", {"error": f"the body is not a JSON object: {e}"})
        except IdentityError as e:
            status = "400 Bad Request" if e.status == 400 else "500 Internal Server Error"
            return Answer(status, {"error": e.message})
        return made_account(self.lab, made)

    def whoami(self, request: AdminRequest) -> Answer:
        return self._only(request, "GET") or Answer(*self.process.whoami(request.arg("challenge")))

    def shutdown(self, request: AdminRequest) -> Answer:
        refused = self._only(request, "POST")
        if refused:
            return refused
        try:
            doc = self._json(request)
        except ValueError:
            doc = None
        status, answer = self.process.shutdown(doc)
        if not status.startswith("202"):
            return Answer(status, answer)
        return Answer(status, answer, [("Connection", "close")], then=self.process.on_stop)

    def housekeeping(self, request: AdminRequest) -> Answer | None:
        """The clock, lifecycle runs and garbage collection (labkit/lab/housekeeping)."""
        method = "GET" if request.method == "HEAD" else request.method
        found = self.lab.housekeeping.admin(request.path, method, request.body, request.query)
        return Answer(*found) if found is not None else None
