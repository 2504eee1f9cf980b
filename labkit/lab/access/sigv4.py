"""AWS Signature Version 4, checked the way AWS's front door checks it.

`verify(request, lookup, service=...)` takes a request as it arrived (method, raw path and query,
headers, the body or its `X-Amz-Content-SHA256`), finds the signing secret with `lookup(access
key id)` and returns who signed it and for which region and service, or raises `SigV4Error`
carrying AWS's message (`messages.py`) and its code for either protocol: ECR's JSON
(`InvalidSignatureException`, HTTP 400) or IAM/STS's query (`SignatureDoesNotMatch`, 403).

Both forms are accepted: the `Authorization: AWS4-HMAC-SHA256 ...` header (every SDK and the AWS
CLI) and the presigned query string (`X-Amz-Algorithm=...&X-Amz-Signature=...`).

The order of the checks follows what a client sees from AWS: a malformed header is
`IncompleteSignature` before anything else; an unknown key is `UnrecognizedClient` whatever the
signature; a request signed too far from the server's clock is refused before its signature is
compared (ecr-messages.md §2).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_tz
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from . import messages as M

ALGORITHM = "AWS4-HMAC-SHA256"
SKEW = 15 * 60  # AWS accepts a request signed up to 15 minutes either side of its clock
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE = "%Y%m%dT%H%M%SZ"
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
PRESIGN_MAX = 7 * 24 * 3600  # the longest X-Amz-Expires SigV4 allows


class SigV4Error(Exception):
    """A refused signature: AWS's message, rendered, and its code on each protocol."""

    def __init__(self, message: M.Message, **fields: object):
        self.template = message
        self.message = message.format(**fields)
        super().__init__(self.message)

    def code(self, protocol: str) -> str:
        """`json` (ECR) or `query` (IAM, STS)."""
        code = self.template.json_code if protocol == "json" else self.template.query_code
        return code or ""

    def status(self, protocol: str) -> int:
        return self.template.json_status if protocol == "json" else self.template.query_status


@dataclass(frozen=True)
class SigningKey:
    """What `lookup` returns for an access key id: its secret and, for temporary credentials
    (STS), the session token the request must carry and when it stops working."""

    secret: str
    session_token: str | None = None
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"SigningKey(secret=***, session_token={'***' if self.session_token else None})"


@dataclass(frozen=True)
class Signed:
    """A verified request: who signed it (the access key id) and the scope it was signed for."""

    access_key_id: str
    region: str
    service: str
    signed_at: float
    key: SigningKey
    presigned: bool = False


@dataclass(frozen=True)
class Request:
    """An HTTP request as it arrived: headers keyed lower-case, the raw (encoded) path and query.

    `body` is the payload; None means the client sent `X-Amz-Content-SHA256` instead (a
    streaming body the server does not hold in memory)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes | None = b""

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], body: bytes | None) -> Request:
        """A WSGI request (PEP 3333: PATH_INFO is decoded latin-1, so it is re-encoded; servers
        that keep the raw target in RAW_URI/REQUEST_URI are trusted for it)."""
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = str(value)
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = str(environ["CONTENT_LENGTH"])
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            path = str(raw).split("?", 1)[0]
        else:
            decoded = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8",
                                                                                  "replace")
            path = quote(decoded, safe="/~!$&'()*+,;=:@")
        return cls(str(environ.get("REQUEST_METHOD", "GET")), path or "/",
                   str(environ.get("QUERY_STRING", "")), headers, body)


@dataclass(frozen=True)
class _Parsed:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    token: str | None
    expires: int | None  # presigned only


def is_signed(request: Request) -> bool:
    """Whether the request carries SigV4 credentials at all (header or query string)."""
    return bool(request.headers.get("authorization")) or "X-Amz-Algorithm=" in request.query


def verify(request: Request, lookup: Callable[[str], SigningKey | None], *,
           service: str | Iterable[str], now: float | None = None,
           valid_region: Callable[[str], bool] | None = None) -> Signed:
    """The signer of `request`, or SigV4Error with AWS's message.

    `service` is the service name(s) the scope must name (`ecr`; `iam`; `sts`). `valid_region`
    says which scope regions exist (default: any name shaped like an AWS region)."""
    now = time.time() if now is None else now
    parsed = _parse(request)
    services = (service,) if isinstance(service, str) else tuple(service)
    if parsed.service not in services:
        raise SigV4Error(M.SCOPE_SERVICE, service=services[0])
    if not (valid_region or _region_shaped)(parsed.region):
        raise SigV4Error(M.SCOPE_REGION, region=parsed.region)
    key = lookup(parsed.access_key_id)
    if key is None:
        raise SigV4Error(M.UNRECOGNIZED_CLIENT)
    signed_at = _check_time(parsed, now)
    if key.session_token is not None or parsed.token is not None:
        if not hmac.compare_digest((parsed.token or "").encode(),
                                   (key.session_token or "").encode()):
            raise SigV4Error(M.UNRECOGNIZED_CLIENT)
        if key.expires_at is not None and key.expires_at <= now:
            raise SigV4Error(M.EXPIRED_TOKEN)
    if parsed.terminator != "aws4_request" or parsed.date != parsed.amz_date[:8]:
        raise SigV4Error(M.INVALID_SIGNATURE)
    if not _signature_matches(request, parsed, key.secret):
        raise SigV4Error(M.INVALID_SIGNATURE)
    return Signed(parsed.access_key_id, parsed.region, parsed.service, signed_at, key,
                  presigned=parsed.expires is not None)


def scope_of(request: Request) -> tuple[str, str, str] | None:
    """(access key id, region, service) as the request claims them, unverified; None if it
    carries no well-formed SigV4 credential. For routing (which region's endpoint?) only."""
    try:
        p = _parse(request)
    except SigV4Error:
        return None
    return p.access_key_id, p.region, p.service


# --- parsing ----------------------------------------------------------------------------------

def _region_shaped(region: str) -> bool:
    return bool(REGION_RE.match(region))


def _parse(request: Request) -> _Parsed:
    header = request.headers.get("authorization")
    if header:
        return _parse_header(header, request.headers)
    if "X-Amz-Algorithm=" in request.query:
        return _parse_query(request.query)
    raise SigV4Error(M.MISSING_TOKEN)


def _parse_header(header: str, headers: Mapping[str, str]) -> _Parsed:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        # not SigV4 at all (SigV2, Basic, a bearer token): AWS lists what SigV4 needs
        raise SigV4Error(M.INCOMPLETE_HEADER, header=header[:512], missing=(
            M.REQUIRES_CREDENTIAL + M.REQUIRES_SIGNATURE + M.REQUIRES_SIGNED_HEADERS
            + ("" if _amz_date(headers) else M.REQUIRES_DATE)))
    fields: dict[str, str] = {}
    for part in re.split(r"[,\s]+", rest):  # AWS reads key=value pairs apart at commas and spaces
        if not part:
            continue
        name, eq, value = part.partition("=")
        if not eq:
            raise SigV4Error(M.NOT_KEY_VALUE, part=part[:256], header=header[:512])
        fields[name.strip()] = value.strip()
    missing = "".join(text for name, text in (("Credential", M.REQUIRES_CREDENTIAL),
                                              ("Signature", M.REQUIRES_SIGNATURE),
                                              ("SignedHeaders", M.REQUIRES_SIGNED_HEADERS))
                      if not fields.get(name))
    amz_date = _amz_date(headers)
    if not amz_date:
        missing += M.REQUIRES_DATE
    if missing:
        raise SigV4Error(M.INCOMPLETE_HEADER, missing=missing, header=header[:512])
    return _build(fields["Credential"], fields["SignedHeaders"], fields["Signature"],
                  amz_date or "", headers.get("x-amz-security-token"), None)


def _parse_query(query: str) -> _Parsed:
    params: dict[str, str] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        params.setdefault(unquote(name), unquote(value))
    missing = "".join(text for name, text in (("X-Amz-Credential", M.REQUIRES_CREDENTIAL),
                                              ("X-Amz-Signature", M.REQUIRES_SIGNATURE),
                                              ("X-Amz-SignedHeaders", M.REQUIRES_SIGNED_HEADERS),
                                              ("X-Amz-Date", M.REQUIRES_DATE))
                      if not params.get(name))
    if params.get("X-Amz-Algorithm") != ALGORITHM or missing:
        raise SigV4Error(M.INCOMPLETE_HEADER, missing=missing or M.REQUIRES_SIGNATURE,
                         header=f"X-Amz-Algorithm={params.get('X-Amz-Algorithm', '')}"[:512])
    try:
        expires = int(params.get("X-Amz-Expires") or 0)
    except ValueError:
        expires = -1
    if not 0 < expires <= PRESIGN_MAX:
        raise SigV4Error(M.INVALID_SIGNATURE)
    return _build(params["X-Amz-Credential"], params["X-Amz-SignedHeaders"],
                  params["X-Amz-Signature"], _date_value(params["X-Amz-Date"]) or "",
                  params.get("X-Amz-Security-Token"), expires)


def _build(credential: str, signed_headers: str, signature: str, amz_date: str,
           token: str | None, expires: int | None) -> _Parsed:
    parts = credential.split("/")
    if len(parts) != 5:
        raise SigV4Error(M.CREDENTIAL_PARTS, credential=credential[:256])
    key_id, date, region, service, terminator = parts
    names = tuple(h.strip().lower() for h in signed_headers.split(";") if h.strip())
    return _Parsed(key_id, date, region, service, terminator, names, signature.strip(),
                   amz_date, token, expires)


def _amz_date(headers: Mapping[str, str]) -> str | None:
    value = headers.get("x-amz-date")
    if value:
        return _date_value(value)
    value = headers.get("date")
    if value:
        parsed = parsedate_tz(value)
        if parsed:
            epoch = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
            return time.strftime(AMZ_DATE, time.gmtime(epoch))
    return None


def _date_value(value: str) -> str | None:
    value = value.strip()
    try:
        time.strptime(value, AMZ_DATE)
    except ValueError:
        return None
    return value


def _check_time(parsed: _Parsed, now: float) -> float:
    if not parsed.amz_date:
        raise SigV4Error(M.INVALID_SIGNATURE)
    signed_at = float(calendar.timegm(time.strptime(parsed.amz_date, AMZ_DATE)))
    fmt = lambda t: time.strftime(AMZ_DATE, time.gmtime(t))  # noqa: E731
    if parsed.expires is not None:  # presigned: valid from its date for X-Amz-Expires seconds
        if signed_at + parsed.expires < now or signed_at - SKEW > now:
            raise SigV4Error(M.SIGNATURE_EXPIRED, signed=fmt(signed_at),
                             earliest=fmt(now - SKEW), now=fmt(now), window=SKEW // 60)
        return signed_at
    if signed_at < now - SKEW:
        raise SigV4Error(M.SIGNATURE_EXPIRED, signed=fmt(signed_at), earliest=fmt(now - SKEW),
                         now=fmt(now), window=SKEW // 60)
    if signed_at > now + SKEW:
        raise SigV4Error(M.SIGNATURE_NOT_YET, signed=fmt(signed_at), latest=fmt(now + SKEW),
                         now=fmt(now), window=SKEW // 60)
    return signed_at


# --- the signature ------------------------------------------------------------------------------

def _signature_matches(request: Request, parsed: _Parsed, secret: str) -> bool:
    if "host" not in parsed.signed_headers:
        return False  # SigV4 requires the host header to be signed
    key = _signing_key(secret, parsed.date, parsed.region, parsed.service)
    scope = f"{parsed.date}/{parsed.region}/{parsed.service}/{parsed.terminator}"
    want = parsed.signature.lower().encode()
    for canonical in _canonical_requests(request, parsed):
        to_sign = "\n".join((ALGORITHM, parsed.amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()))
        got = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(got, want):
            return True
    return False


def _canonical_requests(request: Request, parsed: _Parsed) -> Iterable[str]:
    """The canonical request as the spec builds it, then (only if that did not match) with the
    query exactly as sent: clients that percent-encode differently sign what they sent."""
    headers = []
    for name in parsed.signed_headers:
        value = request.headers.get(name)
        if value is None:
            return
        headers.append(f"{name}:{' '.join(value.split())}\n")
    payload = request.headers.get("x-amz-content-sha256")
    if payload is None:
        payload = (hashlib.sha256(request.body).hexdigest() if request.body
                   else EMPTY_SHA256)
    path = quote(_remove_dot_segments(request.path or "/"), safe="/~")
    tail = "".join(headers) + "\n" + ";".join(parsed.signed_headers) + "\n" + payload
    presigned = parsed.expires is not None
    spec = _canonical_query(request.query, presigned, normalize=True)
    yield f"{request.method.upper()}\n{path}\n{spec}\n{tail}"
    raw = _canonical_query(request.query, presigned, normalize=False)
    if raw != spec:
        yield f"{request.method.upper()}\n{path}\n{raw}\n{tail}"


def _canonical_query(query: str, presigned: bool, normalize: bool) -> str:
    pairs = []
    for pair in query.split("&") if query else ():
        name, _, value = pair.partition("=")
        if normalize:
            name = quote(unquote(name), safe="-_.~")
            value = quote(unquote(value), safe="-_.~")
        if presigned and name == "X-Amz-Signature":
            continue
        pairs.append((name, value))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, as SigV4 normalizes a path (for every service but S3)."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    result = "/".join(out)
    if path.endswith(("/.", "/..")):
        result += "/"
    return result if result.startswith("/") else "/" + result


@lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
