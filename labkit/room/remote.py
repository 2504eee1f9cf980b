"""The room's lab, as a learner's machine sees it: `labkit lab env`, the notebooks, `labkit
explain` and `labkit trace` use it in place of a local lab once the home joined a room.

It is not the instructor's lab object: the learner holds no secret of the lab. What it asks of
the room is signed with SigV4 by the learner's keys, as an ECR call is, and is about the
learner's own account only: its trace (`/_labkit/room/trace`), and the clock, token lifetime,
lifecycle runs and second accounts that notebooks 02, 05b and 08 use
(labkit/lab/server/roomself.py). Moving the clock in a room moves the learner's, nobody else's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..trace.record import TraceRecord
from .joined import Joined, load


class RoomRefused(Exception):
    """What the room refused this learner (another account's clock, a fourth second account,
    a bad duration), in the room's words."""


@dataclass
class RoomLab:
    """Lab-like (what the course and the CLI need of `labkit.lab.Lab`), for a joined room."""

    joined: Joined
    home: Path
    _session: Any = field(default=None, repr=False, compare=False)

    @property
    def registry(self) -> str:
        return self.joined.registry

    @property
    def region(self) -> str:
        return self.joined.region

    @property
    def endpoint_url(self) -> str:
        return self.joined.endpoint_url

    @property
    def account_id(self) -> str:
        return self.joined.account_id

    @property
    def ca_file(self) -> Path | None:
        return Path(self.joined.ca) if self.joined.ca else None

    @property
    def verify(self) -> str | bool:
        return self.joined.ca or True

    def env(self) -> dict[str, str]:
        return {**self.joined.env(), "LABKIT_HOME": str(self.home)}

    def session(self) -> Any:
        """A boto3 session with the room's profile (the learner's keys, its region): made once,
        as a notebook reads its trace around every command cell."""
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.joined.profile,
                                          region_name=self.region)
        return self._session

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
              doc: dict[str, Any] | None = None) -> dict[str, Any]:
        """A request signed as an ECR call by the learner's keys (the room verifies it)."""
        import json
        from urllib.parse import urlencode

        import requests
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = f"{self.endpoint_url}{path}" + (f"?{urlencode(params)}" if params else "")
        body = json.dumps(doc).encode() if doc is not None else b""
        headers = {"Content-Type": "application/json"} if doc is not None else {}
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        credentials = self.session().get_credentials()
        SigV4Auth(credentials.get_frozen_credentials(), "ecr", self.region).add_auth(request)
        r = requests.request(method, url, data=body, headers=dict(request.headers), timeout=60,
                             verify=self.verify)
        if not 200 <= r.status_code < 300:
            try:
                why = r.json().get("error") or r.text
            except ValueError:
                why = r.text
            raise RoomRefused(f"the room refused {method} {path} ({r.status_code}): {why[:300]}")
        return dict(r.json())

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._call("GET", path, params)

    def trace(self, since: int = 0) -> list[TraceRecord]:
        """This learner's requests the room recorded after `since`."""
        from ..trace.record import from_dicts

        return from_dicts(self._get("/_labkit/room/trace", {"since": since})["requests"])

    def trace_mark(self) -> int:
        return int(self._get("/_labkit/room/trace", {"since": 1 << 62})["last"])

    def status(self, timeout: float = 2.0) -> dict[str, Any]:
        """What the course reads of a lab's status: this learner's token lifetime."""
        ttl = self._call("GET", "/_labkit/room/settings")["token_ttl"]
        return {"token_ttl": ttl, "registry": self.registry, "region": self.region,
                "room": self.joined.name, "account_id": self.account_id}

    def set_token_ttl(self, seconds: float) -> None:
        """Make this learner's new tokens expire after `seconds` (02's exercise)."""
        self._call("POST", "/_labkit/room/settings", doc={"token_ttl": seconds})

    def move_clock(self, advance: float | None = None, tokens: bool = False) -> dict[str, Any]:
        """Move this learner's clock forward by `advance` seconds, or back to the room's when
        None (`tokens`: the clock their tokens are issued and judged by)."""
        doc: dict[str, Any] = {"reset": True} if advance is None else {"advance": advance}
        return self._call("POST", "/_labkit/room/clock", doc={**doc, "tokens": tokens})

    def clock(self, tokens: bool = False) -> dict[str, Any]:
        return self._call("GET", "/_labkit/room/clock", {"tokens": "1"} if tokens else None)

    def advance_clock(self, days: float = 0, hours: float = 0) -> dict[str, Any]:
        return self.move_clock(days * 86400 + hours * 3600)

    def reset_clock(self) -> dict[str, Any]:
        return self.move_clock(None)

    def run_lifecycle(self, repository: str | None = None) -> list[dict[str, Any]]:
        """Apply this learner's lifecycle policies now."""
        params = {"repository": repository} if repository else None
        return list(self._call("POST", "/_labkit/room/lifecycle/run", params)["results"])

    def create_account(self, name: str) -> dict[str, Any]:
        """A second account of this learner's (the same name: the same account)."""
        return self._call("POST", "/_labkit/room/accounts", doc={"name": name})

    def __str__(self) -> str:
        return f"room at {self.endpoint_url} as {self.joined.name} (home {self.home})"


def room_lab(home: Path | None = None) -> RoomLab | None:
    """The room this home joined, as a lab, or None."""
    home = home or config.home()
    joined = load(home)
    return RoomLab(joined, home) if joined is not None else None
