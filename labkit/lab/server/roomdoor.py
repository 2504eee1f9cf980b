"""The room's two endpoints under `/_labkit/room/` (labkit/room/roster.py keeps the learners).

- `POST /_labkit/room/learners {"names": [...]}` (the instructor: signed with the lab's secret,
  like every `/_labkit/` endpoint): an account per name (made once; the same name gives the
  same account) and a new join code for each. `GET`: the learners, without codes. A
  learner's account has no AWS managed policies (its administrator's power is an inline
  policy): moto would copy 1,300 of them into each, 2 s and 30 MB a learner.
- `GET /_labkit/room/ca` (open): `{"ca": PEM}`, the certificate of the CA a TLS room's
  certificate comes from. A learner fetches it before trusting the room, and checks it against
  the fingerprint in the join line: the line, not the network, says which CA is the room's.
- `POST /_labkit/room/join {"code": "..."}` (open: a learner has no secret yet): the learner's
  account, its administrator's keys, and where the room's API and the learner's registry are,
  as the learner reached the lab (its Host header's name, the registry's port). A wrong code
  gets 403; ten wrong codes in a minute pause every join for the rest of it (429).
- `GET /_labkit/room/trace?since=N` (signed with SigV4 by a learner's keys, as an ECR call
  is): the trace records that are the caller's account's (the board's partition: by the
  caller ARN the lab recorded, else by whose registry refused, else by the client's next
  caller), so `labkit explain`, `labkit trace` and the notebooks' diagrams work in a room
  without the lab's secret, and show a learner nobody else's requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...room.roster import Roster

if TYPE_CHECKING:
    from .admin import AdminRequest, Answer
    from .app import LabApp

LEARNERS = "/_labkit/room/learners"
JOIN = "/_labkit/room/join"
CA = "/_labkit/room/ca"  # the room's CA certificate (public; a joiner checks its fingerprint)
TRACE = "/_labkit/room/trace"  # a learner's own requests (SigV4 with the learner's keys)
MAX_LEARNERS = 200


class RoomDoor:
    def __init__(self, lab: LabApp):
        self.lab = lab
        self.roster = Roster(lab.settings.home)

    def _account(self, name: str) -> dict[str, Any]:
        made = self.lab.access.create_account(name, managed_policies=False)
        region = self.lab.regions.open_home(made.account_id)
        return {"account_id": made.account_id, "name": made.name,
                "access_key_id": made.access_key_id,
                "secret_access_key": made.secret_access_key, "port": region.port}

    def learners(self, request: AdminRequest) -> Answer:
        from ..access.identities import IdentityError
        from .admin import Answer

        if request.method in ("GET", "HEAD"):
            return Answer("200 OK", {"learners": [
                {"name": x.name, "account_id": x.account_id} for x in self.roster.learners()]})
        if request.method != "POST":
            return Answer("405 Method Not Allowed", {"error": f"use GET or POST on {LEARNERS}"})
        try:
            names = request.json().get("names")
            if not isinstance(names, list) or not 1 <= len(names) <= MAX_LEARNERS or \
                    not all(isinstance(n, str) for n in names):
                raise ValueError(f"names must be a list of 1 to {MAX_LEARNERS} strings")
            issued = {}
            for name in names:
                account = self._account(name)
                issued[account["name"]] = {"account_id": account["account_id"],
                                           "code": self.roster.issue(account["name"],
                                                                     account["account_id"])}
        except (ValueError, AttributeError) as e:
            return Answer("400 Bad Request", {"error": str(e)})
        except IdentityError as e:
            return Answer("400 Bad Request", {"error": e.message})
        return Answer("201 Created", {"learners": issued})

    def ca(self, request: AdminRequest) -> Answer:
        from ..tls.layout import TlsFiles
        from .admin import Answer

        if request.method not in ("GET", "HEAD"):
            return Answer("405 Method Not Allowed", {"error": f"GET {CA}"})
        path = TlsFiles(self.lab.settings.home).ca_cert
        if not getattr(self.lab.settings, "tls", False) or not path.is_file():
            return Answer("404 Not Found", {"error": "this room serves plain HTTP: no CA"})
        return Answer("200 OK", {"ca": path.read_text()})

    def trace(self, request: AdminRequest) -> Answer:
        from ...room.board import partition
        from ...trace import record as rec
        from ..access import AccessError
        from .admin import Answer

        if request.method not in ("GET", "HEAD"):
            return Answer("405 Method Not Allowed", {"error": f"GET {TRACE}"})
        try:
            verified = self.lab.access.authenticate(request.environ or {}, request.body)
        except AccessError as e:
            return Answer("403 Forbidden", {"error": f"{e.code}: {e.message}"})
        try:
            since = int(request.arg("since", "0") or 0)
        except ValueError:
            return Answer("400 Bad Request", {"error": "since must be a whole number"})
        trace = self.lab.trace
        companions = self.roster.companions()  # a second account's records are its learner's
        account = verified.principal.account
        mine = partition(trace.since(since), self.lab.settings.account_id,
                         self.lab.regions.owners(), storage=True, aliases=companions
                         ).get(companions.get(account, account), [])
        return Answer("200 OK", {"schema": rec.SCHEMA, "last": trace.last_seq(),
                                 "requests": [r.to_dict() for r in mine]})

    def join(self, request: AdminRequest) -> Answer:
        from .admin import Answer

        if request.method != "POST":
            return Answer("405 Method Not Allowed", {"error": f"POST a code to {JOIN}"})
        if self.roster.paused():
            return Answer("429 Too Many Requests", {"error": "too many wrong join codes this "
                                                    "minute: wait a minute and try again"},
                          [("Retry-After", "60")])
        try:
            code = str(request.json().get("code") or "")
        except (ValueError, AttributeError):
            code = ""
        learner = self.roster.redeem(code) if code else None
        if learner is None:
            return Answer("403 Forbidden", {"error": "no learner of this room has that join "
                                            "code: check it with your instructor"})
        account = self._account(learner.name)
        settings = self.lab.settings
        host = (request.host or settings.registry_host).rsplit(":", 1)[0]
        scheme = "https" if getattr(settings, "tls", False) else "http"
        return Answer("200 OK", {
            "name": learner.name, "account_id": account["account_id"],
            "access_key_id": account["access_key_id"],
            "secret_access_key": account["secret_access_key"],
            "region": settings.region,
            "endpoint_url": f"{scheme}://{host}:{settings.port}",
            "registry": f"{host}:{account['port']}"})
