"""One request, as the lab understood it when it matched it: the trace's only record type.

The lab writes these (labkit/lab/trace.py fills one per request, the registry's router, its
front door and the ECR API annotate it); every reader (the course's tables and diagrams,
`labkit trace`, `labkit explain`, an instructor's board) reads them back with `from_dict`.
So no reader ever parses a URL: the route, repository, reference, digest and ECR action are
fields, set by the code that routed the request.

Why a schema number: a trace is read over HTTP by a client that may be a different labkit
version than the lab (a room's lab, a learner's laptop). `from_dict` ignores fields it does
not know and fills defaults for fields it lacks; `SCHEMA` goes up when a field changes meaning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA = 1

# kind: which part of the lab answered
REGISTRY = "registry"  # /v2/ (OCI distribution, ECR's rules)
STORAGE = "storage"  # /_storage/ (the pre-signed, S3-like blob downloads a blob GET redirects to)
API = "api"  # the ECR API (X-Amz-Target), as the AWS CLI and boto3 call it

# route (the registry's router names them; labkit/oci/routes.py)
BASE, CATALOG, UPLOAD, BLOB, MANIFEST, TAGS, REFERRERS, STORAGE_GET = (
    "base", "catalog", "upload", "blob", "manifest", "tags", "referrers", "storage")
TOKEN = "token"  # an engine's bearer-token request (engine steps only: the lab uses Basic)

# auth: how the request said who it is
NO_AUTH, BASIC, PRESIGNED, SIGV4, OTHER_AUTH = "none", "basic", "presigned", "sigv4", "other"

# facts a refusal may carry (Reason.facts keys), for an explanation to use
AUTHORIZATION = "authorization"  # "missing" | "invalid" | "expired" | "wrong-region" (the
# registry's front door)
TOKEN_REGION = "token_region"  # the region a refused token was issued for (wrong-region)
REGISTRY_REGION = "registry_region"  # a refusal by another region's registry: its region
REGISTRY_HOST = "registry_host"  # ... and its address (the home region's refusals carry neither)
TOKEN_ISSUED = "token_issued"  # epoch seconds, when GetAuthorizationToken made the password
TOKEN_EXPIRES = "token_expires"  # epoch seconds
TOKEN_LIFETIME = "token_lifetime"  # seconds the token was valid for
TOKEN_CHECKED = "token_checked"  # epoch seconds, the token clock's time when the lab judged it
# (ahead of the request's time after `labkit lab clock advance --tokens`)
MISSING = "missing"  # what was not there: "repository" | "tag" | "digest" | "blob" | "upload"
MISSING_BLOBS = "missing_blobs"  # a manifest PUT's layers the repository does not hold
EXISTING_DIGEST = "existing_digest"  # an immutable tag's current image
URL_EXPIRES = "url_expires"  # a refused storage URL's end of life (ISO 8601)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
WRITES = frozenset({"PUT", "POST", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Reason:
    """Why the lab refused: its answer (code and message, exactly as sent) and the facts
    behind it that the answer does not spell out (when a token was issued, which layers a
    manifest lacks, which image holds an immutable tag)."""

    code: str
    message: str
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "facts": dict(self.facts)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Reason:
        return cls(str(doc.get("code") or ""), str(doc.get("message") or ""),
                   dict(doc.get("facts") or {}))


@dataclass
class TraceRecord:
    """One request the lab answered. `seq` numbers records as they END (a download that
    finishes late gets a higher number); `time` is when the request STARTED: readers order by
    (time, seq)."""

    seq: int = 0
    time: float = 0.0
    duration: float = 0.0
    kind: str = REGISTRY
    method: str = ""
    path: str = ""  # as received, for display only (readers use the fields below)
    status: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    client: str = ""  # the User-Agent, as sent (clipped)
    door: str = ""  # the lab's address:port it came to (which region's or account's registry)
    auth: str = NO_AUTH
    principal: str | None = None  # the caller's ARN, once the lab knows identities
    route: str | None = None  # registry: the router's name; api: the operation
    action: str | None = None  # the ECR action it is (ecr:<action> in IAM), e.g. PutImage
    repository: str | None = None
    reference: str | None = None  # a manifest route's tag or digest, as asked
    digest: str | None = None  # the blob: blob route, download, upload PUT ?digest=, mount
    upload: str | None = None  # an upload session's id
    mount_from: str | None = None  # a cross-repository mount's source repository
    content_digest: str | None = None  # Docker-Content-Digest answered (the manifest's digest)
    location: str | None = None  # Location answered, without its query (no signatures)
    challenge: str | None = None  # WWW-Authenticate answered
    reason: Reason | None = None  # set when the lab refused
    schema: int = SCHEMA

    # -- wire form -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["reason"] = self.reason.to_dict() if self.reason is not None else None
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TraceRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        reason = values.get("reason")
        values["reason"] = Reason.from_dict(reason) if isinstance(reason, dict) else None
        return cls(**values)

    # -- what readers ask of one record ------------------------------------------------------
    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def redirected(self) -> bool:
        return self.status in REDIRECTS

    @property
    def refused(self) -> bool:
        return self.status >= 400

    @property
    def is_ping(self) -> bool:
        """`GET /v2/`: the handshake (and what `docker login` checks)."""
        return self.kind == REGISTRY and self.route == BASE

    @property
    def is_download(self) -> bool:
        """A pre-signed storage GET, which a blob GET's 307 sent the client to."""
        return self.kind == STORAGE

    @property
    def reads(self) -> bool:
        return self.method in ("GET", "HEAD")

    @property
    def writes(self) -> bool:
        return self.method in WRITES

    def is_manifest_read(self, repository: str | None = None) -> bool:
        return (self.route == MANIFEST and self.reads
                and (repository is None or self.repository == repository))

    def is_blob_fetch(self, repository: str | None = None) -> bool:
        """A blob GET (the download itself comes from storage after a 307)."""
        return (self.route == BLOB and self.method == "GET"
                and (repository is None or self.repository == repository))


def from_dicts(docs: list[dict[str, Any]]) -> list[TraceRecord]:
    return [TraceRecord.from_dict(d) for d in docs]
