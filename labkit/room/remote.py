"""The room's lab, as a learner's machine sees it: `labkit lab env`, the notebooks, `labkit
explain` and `labkit trace` use it in place of a local lab once the home joined a room.

It is not the instructor's lab object: the learner holds no secret of the lab. It reads the
learner's own trace (`GET /_labkit/room/trace`, signed with SigV4 by the learner's keys, as an
ECR call is) and refuses what only the instructor may do to the room's lab (its clock, its
token lifetime, its lifecycle runs): those notebooks' sections need a lab of one's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..trace.record import TraceRecord
from .joined import Joined, load


class RoomOnly(Exception):
    """What a learner in a room cannot do to the room's lab, and what to do instead."""


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

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A GET signed as an ECR call by the learner's keys (the room verifies it)."""
        from urllib.parse import urlencode

        import requests
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url = f"{self.endpoint_url}{path}?{urlencode(params)}"
        request = AWSRequest(method="GET", url=url)
        credentials = self.session().get_credentials()
        SigV4Auth(credentials.get_frozen_credentials(), "ecr", self.region).add_auth(request)
        r = requests.get(url, headers=dict(request.headers), timeout=30, verify=self.verify)
        if r.status_code != 200:
            raise RoomOnly(f"the room refused {path} ({r.status_code}): {r.text[:200]}")
        return dict(r.json())

    def trace(self, since: int = 0) -> list[TraceRecord]:
        """This learner's requests the room recorded after `since`."""
        from ..trace.record import from_dicts

        return from_dicts(self._get("/_labkit/room/trace", {"since": since})["requests"])

    def trace_mark(self) -> int:
        return int(self._get("/_labkit/room/trace", {"since": 1 << 62})["last"])

    def status(self, timeout: float = 2.0) -> dict[str, Any]:
        return {"token_ttl": config.DEFAULT_TOKEN_TTL, "registry": self.registry,
                "region": self.region, "room": self.joined.name}

    def _instructors(self, what: str) -> RoomOnly:
        return RoomOnly(f"{what} is the room's lab's, and only the instructor changes it: "
                        "this section needs a lab of your own (`labkit classroom leave`, then "
                        "run the notebook again)")

    def set_token_ttl(self, seconds: float) -> None:
        raise self._instructors("the token lifetime")

    def advance_clock(self, days: float = 0, hours: float = 0) -> dict[str, Any]:
        raise self._instructors("the clock")

    def run_lifecycle(self, repository: str | None = None) -> list[dict[str, Any]]:
        raise self._instructors("running lifecycle policies")

    def __str__(self) -> str:
        return f"room at {self.endpoint_url} as {self.joined.name} (home {self.home})"


def room_lab(home: Path | None = None) -> RoomLab | None:
    """The room this home joined, as a lab, or None."""
    home = home or config.home()
    joined = load(home)
    return RoomLab(joined, home) if joined is not None else None
