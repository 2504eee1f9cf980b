"""Who is calling the ECR backend: the verified caller of the API request being answered.

The wire (responses.py) sets it around `EcrBackend.call`; the lab's own in-process callers
(create on push, the lifecycle runner) leave it unset. GetAuthorizationToken reads it: the token
it issues carries that caller (docker then acts as whoever logged in) and the region the
request was signed for. A context variable, so each request thread sees its own caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiCaller:
    principal: Any  # labkit.lab.access.Principal (kept opaque: the backend does not evaluate it)
    region: str


_CALLER: ContextVar[ApiCaller | None] = ContextVar("labkit_ecr_caller", default=None)


def current() -> ApiCaller | None:
    """The caller of the API request being answered; None for the lab's own calls."""
    return _CALLER.get()


@contextmanager
def calling_as(caller: ApiCaller | None) -> Iterator[None]:
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)
