"""What a learner in a room may do to the room's lab for their own account, and nobody else's:
the endpoints notebooks 02, 05b and 08 need, which on a laptop act on the learner's own lab.

Each is signed with SigV4 by the learner's keys, as an ECR call is, and acts on the caller's
account only (a companion account it made counts as its own); the lab's own account and any
account that is no learner's get 403, so nobody can move the room's clock through these.

- `GET|POST /_labkit/room/clock`: the account's clock (image ages, lifecycle rules; with
  `"tokens": true` its tokens' clock). POST `{"advance": "13h"}` or `{"reset": true}`: moves
  the account's own offset (housekeeping/account_clocks.py), no one else's.
- `GET|POST /_labkit/room/settings`: the account's token lifetime (`{"token_ttl": 60}`, 1 s to
  12 h), for the tokens it is issued from then on (02's expiry exercise).
- `POST /_labkit/room/lifecycle/run[?repository=NAME]`: apply the lifecycle policies of the
  account's repositories now (05b), in each region it has.
- `POST /_labkit/room/accounts {"name": "platform"}`: a second account for the learner (08's
  platform team; the same name gives the same account, at most three), its administrator's keys
  and its registry. Its requests are the learner's on the board and in the learner's trace.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ...room.roster import MAX_COMPANIONS, Roster

if TYPE_CHECKING:
    from .admin import AdminRequest, Answer
    from .app import LabApp

CLOCK = "/_labkit/room/clock"
SETTINGS = "/_labkit/room/settings"
LIFECYCLE = "/_labkit/room/lifecycle/run"
ACCOUNTS = "/_labkit/room/accounts"
PATHS = frozenset({CLOCK, SETTINGS, LIFECYCLE, ACCOUNTS})


def _answer(status: str, doc: Any) -> Answer:
    from .admin import Answer

    return Answer(status, doc)


class LearnerSelf:
    """The handlers above, for the lab `lab` (its roster says who is a learner)."""

    def __init__(self, lab: LabApp, roster: Roster):
        self.lab, self.roster = lab, roster
        self._making = threading.Lock()  # a learner's concurrent asks stay within the limit

    def route(self, request: AdminRequest) -> Answer:
        from ..access import AccessError

        handler = {CLOCK: self.clock, SETTINGS: self.settings, LIFECYCLE: self.lifecycle,
                   ACCOUNTS: self.accounts}[request.path]
        try:
            verified = self.lab.access.authenticate(request.environ or {}, request.body)
        except AccessError as e:
            return _answer("403 Forbidden", {"error": f"{e.code}: {e.message}"})
        account = verified.principal.account
        if account == self.lab.settings.account_id or self.roster.learner_of(account) is None:
            return _answer("403 Forbidden", {"error": f"{request.path} is for a room's learners, "
                                             "each acting on their own account: the lab's own "
                                             "clock and settings are the instructor's"})
        try:
            doc = request.json() if request.body else {}
            if not isinstance(doc, dict):
                raise ValueError("send a JSON object")
        except ValueError as e:
            return _answer("400 Bad Request", {"error": f"the body is not a JSON object: {e}"})
        return handler(request.method, account, doc, request)

    # ---- the handlers ----
    def clock(self, method: str, account: str, doc: dict[str, Any], request: AdminRequest
              ) -> Answer:
        from ..housekeeping.clock import MOVE_USAGE, ClockError, move

        tokens = bool(doc.get("tokens")) or request.arg("tokens") in ("1", "true")
        clock = (self.lab.token_clocks if tokens else self.lab.clocks).of(account)
        if method == "POST":
            try:
                move(clock, doc, f'{MOVE_USAGE}; "tokens": true for the clock tokens are issued '
                                 "and judged by")
            except ClockError as e:
                return _answer("400 Bad Request", {"error": str(e)})
        elif method not in ("GET", "HEAD"):
            return _answer("405 Method Not Allowed", {"error": f"GET or POST {CLOCK}"})
        return _answer("200 OK", {**clock.status(), "tokens": tokens, "account_id": account})

    def settings(self, method: str, account: str, doc: dict[str, Any], request: AdminRequest
                 ) -> Answer:
        from ..auth.tokens import lifetime_of

        lifetimes = self.lab.token_lifetimes
        if method == "POST":
            try:
                ttl = lifetime_of(doc)
            except (ValueError, KeyError, TypeError) as e:
                return _answer("400 Bad Request", {"error": str(e)})
            if ttl == self.lab.settings.token_ttl:
                lifetimes.pop(account, None)
            else:
                lifetimes[account] = ttl
        elif method not in ("GET", "HEAD"):
            return _answer("405 Method Not Allowed", {"error": f"GET or POST {SETTINGS}"})
        return _answer("200 OK", {"token_ttl": lifetimes.get(account, self.lab.settings.token_ttl),
                                  "account_id": account})

    def lifecycle(self, method: str, account: str, doc: dict[str, Any], request: AdminRequest
                  ) -> Answer:
        from ..control.lifecycle_runner import UnknownRepository

        if method != "POST":
            return _answer("405 Method Not Allowed", {"error": f"POST {LIFECYCLE}"})
        repository = request.arg("repository") or None
        results: list[dict[str, Any]] = []
        found = False
        for region in self.lab.regions.all():
            if region.account != account:
                continue
            try:
                results += [r.to_dict() for r in region.housekeeping.runner.run(repository)]
                found = True
            except UnknownRepository:
                continue
        if repository is not None and not found:
            return _answer("404 Not Found", {"error": f"the repository '{repository}' has no "
                                             "lifecycle policy (or does not exist)"})
        return _answer("200 OK", {"now": self.lab.clocks.now(account), "results": results})

    def accounts(self, method: str, account: str, doc: dict[str, Any], request: AdminRequest
                 ) -> Answer:
        from ..access.identities import IdentityError
        from .admin import made_account

        if method != "POST":
            return _answer("405 Method Not Allowed", {"error": f"POST {{\"name\": ...}} to "
                                                     f"{ACCOUNTS}"})
        learner = self.roster.learner_of(account)
        assert learner is not None  # route() checked
        name = str(doc.get("name") or "").strip()
        if not name or len(name) > 20 or not name.replace("-", "").isalnum():
            return _answer("400 Bad Request", {"error": "name the account with 1 to 20 letters, "
                                               "digits or dashes, e.g. platform"})
        with self._making:
            if not self.roster.may_add_companion(learner.account_id, name):
                return _answer("403 Forbidden", {"error": f"a learner may make {MAX_COMPANIONS} "
                                                 "accounts of their own in a room: reuse one"})
            try:
                made = self.lab.access.create_account(f"{learner.name}/{name}",
                                                      managed_policies=False)
            except IdentityError as e:
                return _answer("400 Bad Request", {"error": e.message})
            self.roster.add_companion(learner.account_id, name, made.account_id)
        return made_account(self.lab, made)
