"""The one reader of the lab's trace: records in, client sessions, pulls, pushes and failures out.

The course's tables, diagrams and checks, `labkit trace`, `labkit explain` and an instructor's
board all read a trace through these functions, so a rule (what a pull is, which refusal is a
failure rather than a step of the protocol) is written once. Everything here works on
`TraceRecord` fields; nothing parses a URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .record import (
    API,
    BLOB,
    MANIFEST,
    NO_AUTH,
    REGISTRY,
    UPLOAD,
    TraceRecord,
)

# client names, from the User-Agent each tool sends
BUILTIN = "labkit (builtin engine)"
LABKIT = "labkit"  # labkit's own boto3 calls (the course's set-up and checks)
_NAMED = ("docker", "containerd", "skopeo", "buildkit", "crane", "podman", "buildah", "curl")


def client_name(agent: str) -> str:
    """The tool behind a User-Agent: docker, skopeo, aws-cli, boto3, the built-in engine..."""
    low = (agent or "").lower()
    if low.startswith("labkit-builtin"):
        return BUILTIN
    if " labkit/" in low or low.startswith("labkit/"):
        return LABKIT
    if low.startswith("aws-cli/"):
        return "aws-cli"
    if low.startswith("boto3/"):
        return "boto3"
    for name in _NAMED:
        if name in low:
            return name
    return low.split("/", 1)[0] if low else "client"


def ordered(records: Iterable[TraceRecord]) -> list[TraceRecord]:
    """In the order the requests were made: the lab numbers records as they END, so a long
    download started early gets a late number; `time` is when each started."""
    return sorted(records, key=lambda r: (r.time, r.seq))


def settled(records: Sequence[TraceRecord]) -> bool:
    """Every redirect has its download recorded (the lab records a request a moment after
    the client read its last byte: a trace read at once may miss the final download)."""
    redirects = sum(1 for r in records if r.kind == REGISTRY and r.redirected)
    return sum(1 for r in records if r.is_download) >= redirects


# -- sessions ----------------------------------------------------------------------------------
def sessions(records: Iterable[TraceRecord]) -> list[list[TraceRecord]]:
    """Split the registry side of a trace into client sessions (see `pull_requests`).

    Each client (User-Agent) is split on its own, so a second tool working at the same time
    does not cut a pull in two. ECR API records are no part of any session."""
    by_client: dict[str, list[TraceRecord]] = {}
    for rec in ordered(records):
        if rec.kind != API:
            by_client.setdefault(rec.client, []).append(rec)
    out: list[list[TraceRecord]] = []
    for recs in by_client.values():
        current: list[TraceRecord] = []
        for rec in recs:
            unauthenticated = rec.auth == NO_AUTH and rec.kind == REGISTRY
            after_auth = any(r.auth != NO_AUTH for r in current)
            again = rec.is_ping and unauthenticated and any(
                r.is_ping and r.auth == NO_AUTH for r in current)
            busy = any(r.route == BLOB or r.is_download or r.writes for r in current)
            if current and ((unauthenticated and after_auth) or again
                            or (rec.is_manifest_read() and busy)):
                out.append(current)
                current = []
            current.append(rec)
        if current:
            out.append(current)
    out.sort(key=lambda s: (s[0].time, s[0].seq))
    return out


def _writes_to(session: Sequence[TraceRecord], repository: str | None) -> bool:
    return any(r.writes and r.route in (UPLOAD, MANIFEST, BLOB)
               and (repository is None or r.repository == repository) for r in session)


# -- pulls -------------------------------------------------------------------------------------
def pull_requests(records: Iterable[TraceRecord], repository: str) -> list[TraceRecord]:
    """The requests of the most recent pull of `repository` in a lab trace.

    The rule:
    1. Split the trace into sessions, client by client. A session starts where a `/v2/`
       request without credentials follows requests sent with them (a client's first
       handshake, e.g. the `GET /v2/` that gets the 401 challenge) or follows another such
       handshake (the first command stopped there, e.g. docker without a login), or where a
       manifest GET/HEAD follows blob, storage or write requests (a new pull by a client that
       kept its credentials).
    2. A pull of `repository` is a session that GETs or HEADs one of its manifests and writes
       nothing (no PUT, POST, PATCH, DELETE) to it. The last one wins, except that a lone
       manifest read with no handshake and no blob download (a tool inspecting the manifest
       after the pull, e.g. the docker engine's report) only counts if nothing else does.
    3. From it keep the pings (`/v2/`), the manifest and blob GET/HEADs of `repository`, and
       the storage downloads of the blobs it was redirected to (matched by digest, whichever
       client sent them); requests of other repositories are left out.
    Returns [] when the trace holds no pull of `repository`.
    """
    records = ordered(records)
    chosen: list[TraceRecord] = []
    fallback: list[TraceRecord] = []
    for session in _pull_sessions(sessions(records), repository):
        handshake = any(r.auth == NO_AUTH and r.kind == REGISTRY for r in session)
        downloads = any(r.route == BLOB for r in session)
        if handshake or downloads:
            chosen = session
        else:
            fallback = session
    chosen = chosen or fallback
    return _pick(chosen, repository, _downloads(records)) if chosen else []


def _pull_sessions(all_sessions: list[list[TraceRecord]], repository: str
                   ) -> list[list[TraceRecord]]:
    """Sessions that read a manifest of `repository` and write nothing to it (rule 2)."""
    return [s for s in all_sessions
            if any(r.is_manifest_read(repository) for r in s) and not _writes_to(s, repository)]


def _downloads(records: list[TraceRecord]) -> dict[str, list[TraceRecord]]:
    """Storage downloads by blob digest, in order."""
    out: dict[str, list[TraceRecord]] = {}
    for rec in records:
        if rec.is_download and rec.digest:
            out.setdefault(rec.digest, []).append(rec)
    return out


def _pick(session: list[TraceRecord], repository: str,
          downloads: dict[str, list[TraceRecord]]) -> list[TraceRecord]:
    """Rule 3: the pull's own requests, and the download each redirect led to."""
    keep = [r for r in session if r.is_ping or (r.repository == repository and r.reads
                                                and r.route in (MANIFEST, BLOB))]
    used: set[int] = set()
    for redirect in [r for r in keep if r.route == BLOB and r.redirected]:
        for rec in downloads.get(redirect.digest or "", ()):  # the first one after the 307
            if rec.seq not in used and rec.time >= redirect.time:
                used.add(rec.seq)
                keep.append(rec)
                break
    return ordered(keep)


@dataclass
class Pull:
    """One pull, as the lab saw it. What the image IS (which blob is the config, the layers
    and their sizes) is the registry's knowledge, not the trace's: see labkit.ecr.images."""

    repository: str
    records: list[TraceRecord] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.records)

    @property
    def client(self) -> str:
        return client_name(self.records[0].client) if self.records else ""

    @property
    def manifest_reads(self) -> list[TraceRecord]:
        return [r for r in self.records if r.route == MANIFEST]

    @property
    def reference(self) -> str:
        """The tag (or digest) the client asked for first."""
        reads = self.manifest_reads
        return reads[0].reference or "" if reads else ""

    @property
    def digest(self) -> str:
        """The digest of the last manifest the registry served (the image's manifest; for a
        multi-platform image, the platform's)."""
        for r in reversed(self.manifest_reads):
            if r.ok and (r.content_digest or r.reference or "").startswith("sha256:"):
                return r.content_digest or r.reference or ""
        return ""

    @property
    def pings(self) -> list[TraceRecord]:
        return [r for r in self.records if r.is_ping]

    @property
    def challenge(self) -> str:
        """The auth scheme the registry challenged with ("Basic"), or "" if none."""
        for r in self.pings:
            if r.status == 401 and r.challenge:
                return r.challenge.split(" ", 1)[0]
        return ""

    @property
    def manifest_fetched(self) -> bool:
        return any(r.ok and r.method == "GET" for r in self.manifest_reads)

    @property
    def blob_fetches(self) -> list[TraceRecord]:
        return [r for r in self.records if r.is_blob_fetch()]

    @property
    def fetched(self) -> list[str]:
        """Digests of the blobs the client asked for, in order, once each."""
        out: list[str] = []
        for r in self.blob_fetches:
            if r.digest and r.digest not in out and (r.ok or r.redirected):
                out.append(r.digest)
        return out

    @property
    def redirected(self) -> int:
        return sum(1 for r in self.blob_fetches if r.redirected)

    @property
    def downloads(self) -> list[TraceRecord]:
        return [r for r in self.records if r.is_download and r.ok]

    def download_of(self, digest: str) -> TraceRecord | None:
        return next((r for r in self.records if r.is_download and r.digest == digest), None)


def pulls(records: Iterable[TraceRecord], repository: str | None = None) -> list[Pull]:
    """Every pull in the trace (of `repository`, or of any), oldest first; a pull's records
    are picked by the rule of `pull_requests`, one pull per session."""
    records = ordered(records)
    names = [repository] if repository is not None else list(dict.fromkeys(
        r.repository for r in records if r.is_manifest_read() and r.repository))
    all_sessions, downloads = sessions(records), _downloads(records)
    found = [(s, name) for name in names for s in _pull_sessions(all_sessions, name)]
    found.sort(key=lambda item: (item[0][0].time, item[0][0].seq))
    return [Pull(name, _pick(s, name, downloads)) for s, name in found]


def last_repository(records: Iterable[TraceRecord]) -> str:
    """The repository of the most recent manifest read (GET or HEAD)."""
    for rec in reversed(ordered(records)):
        if rec.is_manifest_read() and rec.repository:
            return rec.repository
    return ""


def last_pull(records: Iterable[TraceRecord], repository: str | None = None) -> Pull:
    """The most recent pull (of `repository`; default: the repository whose manifest was read
    last). `.found` is False when there is none."""
    records = list(records)
    name = repository or last_repository(records)
    return Pull(name, pull_requests(records, name) if name else [])


# -- pushes ------------------------------------------------------------------------------------
@dataclass
class Push:
    """One push to one repository, as the lab saw it."""

    repository: str
    records: list[TraceRecord] = field(default_factory=list)

    @property
    def client(self) -> str:
        return client_name(self.records[0].client) if self.records else ""

    @property
    def manifest_puts(self) -> list[TraceRecord]:
        return [r for r in self.records if r.route == MANIFEST and r.method == "PUT"]

    @property
    def tags(self) -> list[str]:
        """The tags the manifest was pushed under (accepted or not), in order."""
        out: list[str] = []
        for r in self.manifest_puts:
            if r.reference and not r.reference.startswith("sha256:") and r.reference not in out:
                out.append(r.reference)
        return out

    @property
    def digest(self) -> str:
        """The manifest's digest, as the registry answered the last accepted manifest PUT."""
        for r in reversed(self.manifest_puts):
            if r.ok:
                return r.content_digest or r.reference or ""
        return ""

    @property
    def complete(self) -> bool:
        return bool(self.digest)

    @property
    def checked(self) -> dict[str, bool]:
        """Blob digest -> whether the registry had it when the client asked ("do you have
        it?", a blob HEAD before any upload of it)."""
        out: dict[str, bool] = {}
        sent: set[str] = set()
        for r in ordered(self.records):  # a HEAD after the upload only confirms it
            if r.route == BLOB and r.method == "HEAD" and r.digest and r.digest not in out \
                    and r.digest not in sent:
                out[r.digest] = r.ok
            elif r.route == UPLOAD and r.digest and r.status == 201:
                sent.add(r.digest)
        return out

    @property
    def uploaded(self) -> list[str]:
        """Digests of the blobs whose upload the registry accepted (201), in order."""
        out: list[str] = []
        for r in self.records:
            done = r.route == UPLOAD and r.status == 201 and r.digest and not r.mount_from
            if done and r.method in ("PUT", "POST") and r.digest not in out:
                out.append(r.digest or "")
        return out

    @property
    def mounted(self) -> dict[str, str]:
        """Digest -> the repository it was mounted from (201 to a cross-repository mount)."""
        return {r.digest: r.mount_from for r in self.records
                if r.route == UPLOAD and r.method == "POST" and r.status == 201 and r.digest
                and r.mount_from}

    @property
    def refused(self) -> list[TraceRecord]:
        return [r for r in self.records if _is_failure(r, self.records)]


def pushes(records: Iterable[TraceRecord], repository: str | None = None) -> list[Push]:
    """Every push in the trace (to `repository`, or to any), oldest first: one per session
    and repository written to."""
    out: list[Push] = []
    for session in sessions(records):
        names: list[str] = []
        for r in session:
            if r.writes and r.route in (UPLOAD, MANIFEST) and r.repository \
                    and r.repository not in names:
                names.append(r.repository)
        for name in names:
            if repository is not None and name != repository:
                continue
            out.append(Push(name, [r for r in session if r.is_ping or r.repository == name]))
    return out


def last_push(records: Iterable[TraceRecord], repository: str | None = None,
              tag: str | None = None) -> Push | None:
    """The most recent push (to `repository`, under `tag`), or None."""
    for push in reversed(pushes(records, repository)):
        if tag is None or tag in push.tags:
            return push
    return None


# -- failures ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """A request the lab refused, as the learner's tool asked it and as the lab answered:
    what `labkit explain` explains. `facts` are the refusal's (labkit/trace/record.py:
    token times, missing blobs, an immutable tag's image...)."""

    seq: int
    time: float
    client: str  # docker, skopeo, aws-cli, boto3, labkit (builtin engine)...
    agent: str  # the User-Agent as sent
    kind: str  # registry, storage or api
    method: str
    route: str | None  # the registry's route (base, manifest, blob, upload...), or the operation
    action: str | None  # the ECR action, e.g. PutImage, or the API operation
    repository: str | None
    reference: str | None  # the tag or digest asked for
    digest: str | None  # the blob, for blob requests
    status: int
    code: str  # what the lab answered: DENIED, NAME_UNKNOWN, RepositoryNotFoundException...
    message: str
    facts: dict[str, Any]
    auth: str
    principal: str | None
    record: TraceRecord

    @classmethod
    def of(cls, rec: TraceRecord) -> Failure:
        reason = rec.reason
        return cls(rec.seq, rec.time, client_name(rec.client), rec.client, rec.kind,
                   rec.method, rec.route, rec.action, rec.repository, rec.reference, rec.digest,
                   rec.status, reason.code if reason else "", reason.message if reason else "",
                   dict(reason.facts) if reason else {}, rec.auth, rec.principal, rec)

    def to_dict(self) -> dict[str, Any]:
        doc = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "record"}
        doc["facts"] = dict(self.facts)
        return doc


def _is_failure(rec: TraceRecord, context: Sequence[TraceRecord]) -> bool:
    """A refusal the learner met, not a step of the protocol. Steps of the protocol: the 401
    that challenges a client which then sends its credentials, and "do you have it?" (a blob
    HEAD answered BLOB_UNKNOWN, a manifest read answered MANIFEST_UNKNOWN while the same
    client pushes to that repository). A 401 after which the client sends nothing with
    credentials is a failure: docker stops there with "no basic auth credentials"."""
    if not rec.refused:
        return False
    if rec.kind == API:
        return True
    code = rec.reason.code if rec.reason is not None else ""
    if rec.status == 401 and rec.auth == NO_AUTH:
        later = [r for r in context if r.client == rec.client
                 and (r.time, r.seq) > (rec.time, rec.seq)]
        return not any(r.auth != NO_AUTH and r.kind == REGISTRY for r in later)
    if code == "BLOB_UNKNOWN" and rec.route == BLOB and rec.method == "HEAD":
        return False
    if code == "MANIFEST_UNKNOWN" and rec.route == MANIFEST and rec.reads:
        pushing = any(r.client == rec.client and r.repository == rec.repository and r.writes
                      and r.route in (UPLOAD, MANIFEST) for r in context)
        return not pushing
    return True


def failures(records: Iterable[TraceRecord], *, include_labkit: bool = False) -> list[Failure]:
    """Every refusal a learner met, oldest first. labkit's own API calls (the course's
    set-up asking whether a repository exists yet) are left out unless `include_labkit`."""
    records = ordered(records)
    out = []
    for session in _failure_contexts(records):
        for rec in session:
            if not include_labkit and rec.kind == API and client_name(rec.client) == LABKIT:
                continue
            if _is_failure(rec, session):
                out.append(Failure.of(rec))
    out.sort(key=lambda f: (f.time, f.seq))
    return out


def _failure_contexts(records: list[TraceRecord]) -> list[list[TraceRecord]]:
    """Registry sessions (a refusal is judged among its own client's requests), then each
    API record on its own."""
    return [*sessions(records), *([r] for r in records if r.kind == API)]


def last_failure(records: Iterable[TraceRecord], *, client: str | None = None,
                 include_labkit: bool = False) -> Failure | None:
    """The most recent refusal a learner met (by `client`, a name as `client_name` gives),
    or None: what `labkit explain` starts from."""
    found = [f for f in failures(records, include_labkit=include_labkit)
             if client is None or f.client == client]
    return found[-1] if found else None
