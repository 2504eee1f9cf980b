"""Pre-signed, expiring storage URLs, named like S3's, for the 307 that answers a blob GET.

ECR answers a layer download with a redirect to a pre-signed S3 URL that works without the
registry's credentials and expires (20 minutes).  The lab does the same with its own storage
path, signed by the lab's Signer, so learners see where layers really come from.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..auth.signing import Signer

DEFAULT_TTL = 20 * 60  # ECR's pre-signed layer URLs last 20 minutes
MAX_TTL = 7 * 24 * 3600  # S3's limit for X-Amz-Expires
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
STORAGE_PREFIX = "/_storage/blobs/sha256/"


@dataclass(frozen=True)
class Refusal:
    """Why a storage URL was refused, as S3 would say it (403 with an XML body)."""

    code: str
    message: str
    status: int = 403

    def xml(self, extra: Mapping[str, str] | None = None) -> bytes:
        from xml.sax.saxutils import escape  # only on a refusal: it imports urllib.request

        parts = [f"<Code>{escape(self.code)}</Code>", f"<Message>{escape(self.message)}</Message>"]
        for key, value in (extra or {}).items():
            parts.append(f"<{key}>{escape(value)}</{key}>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts)
                + "</Error>").encode()


class Presigner:
    """Issues and checks storage URLs: the path, the date and the lifetime are signed."""

    def __init__(self, signer: Signer, ttl: int = DEFAULT_TTL,
                 clock: Callable[[], float] = time.time):
        self.signer = signer
        self.ttl = ttl
        self.clock = clock

    @staticmethod
    def _message(path: str, date: str, expires: str) -> str:
        return f"GET\n{path}\n{date}\n{expires}"

    def url(self, base: str, hex_digest: str) -> str:
        path = STORAGE_PREFIX + hex_digest
        date = time.strftime(DATE_FORMAT, time.gmtime(self.clock()))
        expires = str(self.ttl)
        signature = self.signer.sign(self._message(path, date, expires))
        return (f"{base.rstrip('/')}{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                f"&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
                f"&X-Amz-Signature={signature}")

    def check(self, path: str, args: Mapping[str, str]) -> tuple[Refusal | None, dict[str, str]]:
        """None if the URL is genuine and current, else the refusal (and details for the XML)."""
        date, expires = args.get("X-Amz-Date", ""), args.get("X-Amz-Expires", "")
        signature = args.get("X-Amz-Signature", "")
        if not (date and expires and signature):
            return Refusal("AccessDenied", "Query-string authentication requires the "
                           "X-Amz-Date, X-Amz-Expires and X-Amz-Signature parameters"), {}
        if not self.signer.verify(self._message(path, date, expires), signature):
            return Refusal("SignatureDoesNotMatch", "The request signature we calculated does "
                           "not match the signature you provided. Check your key and signing "
                           "method."), {}
        try:
            issued = calendar.timegm(time.strptime(date, DATE_FORMAT))
            lifetime = int(expires)
        except ValueError:
            return Refusal("AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires "
                           "is malformed", 400), {}
        now = self.clock()
        if not 0 < lifetime <= MAX_TTL:
            return Refusal("AuthorizationQueryParametersError",
                           "X-Amz-Expires must be between 1 and 604800 seconds", 400), {}
        if now > issued + lifetime:
            return Refusal("AccessDenied", "Request has expired"), {
                "X-Amz-Expires": expires,
                "Expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued + lifetime)),
                "ServerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            }
        return None, {}
