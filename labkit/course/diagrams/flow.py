"""The pull flow as data: registry requests (the lab's trace, or an engine's steps) turned into
the messages of a sequence diagram. No drawing here, so the rules are easy to test and reuse.

Lifelines: the client (docker or labkit), the registry (ECR's `/v2/` endpoint), auth (the token
check in front of it) and storage (the pre-signed, S3-like URLs a blob GET redirects to).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ...engines.report import EXISTS_LOCAL, PULLED, TransferReport, human_bytes
from ...oci.digest import short

LIFELINES = ("client", "registry", "auth", "storage")

_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[a-z0-9]+:[a-f0-9]+)$")
_HEX = re.compile(r"([a-f0-9]{64})")
_WRITES = ("PUT", "POST", "PATCH", "DELETE")
_REDIRECTS = (301, 302, 303, 307, 308)

Record = dict[str, Any]


@dataclass
class Message:
    """One arrow: who sends what to whom, with a second, smaller line of detail."""

    src: str
    dst: str
    label: str
    detail: str = ""
    reply: bool = False
    tone: str = "request"  # request, ok, redirect, error, auth

    def key(self) -> tuple[str, str, str, str, bool]:
        return (self.src, self.dst, self.label, self.detail, self.reply)


@dataclass
class Exchange:
    """A request and what answered it (possibly via the auth check), in one diagram section."""

    section: str  # authenticate, manifest, config, layers, other
    messages: list[Message]
    count: int = 1

    def key(self) -> tuple[Any, ...]:
        return (self.section, tuple(m.key() for m in self.messages))


@dataclass
class Skip:
    """A blob the client already had: no request at all, which is the point."""

    digest: str
    size: int
    kind: str = "layer"

    @property
    def text(self) -> str:
        return f"{self.kind} {short(self.digest)}: already present, skipped ({human_bytes(self.size)})"


@dataclass
class Flow:
    """Everything the sequence diagram draws, top to bottom."""

    title: str
    client: str  # e.g. "labkit (builtin engine)" or "docker"
    items: list[Exchange | Skip] = field(default_factory=list)
    source: str = "lab trace"  # or "engine report"
    requests: int = 0  # how many HTTP requests the items stand for

    @property
    def messages(self) -> list[Message]:
        return [m for x in self.items if isinstance(x, Exchange) for m in x.messages]

    @property
    def skips(self) -> list[Skip]:
        return [x for x in self.items if isinstance(x, Skip)]


# -- helpers ---------------------------------------------------------------------------------------
def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _tone(code: int) -> str:
    if code in _REDIRECTS:
        return "redirect"
    return "ok" if 200 <= code < 300 else "error"


def _is_ping(path: str) -> bool:
    return path in ("/v2/", "/v2")


def _is_storage(rec: Record) -> bool:
    return rec.get("auth") == "presigned" or str(rec.get("path", "")).startswith("/_storage/")


def _hex(text: str | None) -> str:
    m = _HEX.search(text or "")
    return m.group(1) if m else ""


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _short_ref(ref: str) -> str:
    return f"sha256:{short(ref)}…" if ref.startswith("sha256:") else ref


def _repo_of(path: str) -> str | None:
    m = _MANIFEST.match(path) or _BLOB.match(path)
    if m:
        return m.group("name")
    m = re.match(r"^/v2/(?P<name>.+)/(blobs/uploads|tags)/", path)
    return m.group("name") if m else None


def client_name(records: Iterable[Record]) -> str:
    """Name the client from its User-Agent: docker, labkit's engine, skopeo, containerd..."""
    for rec in records:
        agent = str(rec.get("agent") or "").lower()
        if agent.startswith("labkit"):
            return "labkit (builtin engine)"
        for name in ("docker", "containerd", "skopeo", "buildkit", "crane", "podman"):
            if name in agent:
                return name
        if agent:
            return agent.split("/", 1)[0]
    return "client"


# -- picking one pull out of a whole trace ---------------------------------------------------------
def sessions(trace: Sequence[Record]) -> list[list[Record]]:
    """Split a trace into client sessions (see `pull_requests` for the rule)."""
    out: list[list[Record]] = []
    current: list[Record] = []
    for rec in sorted(trace, key=lambda r: r.get("seq", 0)):
        path = str(rec.get("path", ""))
        unauthenticated = rec.get("auth") == "none" and path.startswith("/v2")
        after_auth = any(r.get("auth") != "none" for r in current)
        busy = any(_BLOB.match(str(r.get("path", ""))) or _is_storage(r)
                   or r.get("method") in _WRITES for r in current)
        manifest_read = _MANIFEST.match(path) and rec.get("method") in ("GET", "HEAD")
        if current and ((unauthenticated and after_auth) or (manifest_read and busy)):
            out.append(current)
            current = []
        current.append(rec)
    if current:
        out.append(current)
    return out


def pull_requests(trace: Sequence[Record], repository: str) -> list[Record]:
    """The requests of the most recent pull of `repository` in a lab trace.

    The rule:
    1. Split the trace into sessions. A session starts where a `/v2/` request without
       credentials follows requests sent with them (a client's first handshake, e.g. the
       `GET /v2/` that gets the 401 challenge), or where a manifest GET/HEAD follows blob,
       storage or write requests (a new pull by a client that kept its credentials).
    2. A pull of `repository` is a session that GETs or HEADs one of its manifests and writes
       nothing (no PUT, POST, PATCH, DELETE) to it. The last one wins, except that a lone
       manifest read with no handshake and no blob download (a tool inspecting the manifest
       after the pull, e.g. the docker engine's report) only counts if nothing else does.
    3. From it keep the pings (`/v2/`), the manifest and blob GET/HEADs of `repository`, and
       the storage GETs of the blobs it was redirected to (matched by digest); requests of
       other repositories, by other clients running at the same time, are left out.
    Returns [] when the trace holds no pull of `repository`.
    """
    chosen: list[Record] = []
    fallback: list[Record] = []
    for session in sessions(trace):
        reads = [r for r in session if r.get("method") in ("GET", "HEAD")
                 and (m := _MANIFEST.match(str(r.get("path", "")))) and m.group("name") == repository]
        writes = [r for r in session if r.get("method") in _WRITES
                  and _repo_of(str(r.get("path", ""))) == repository]
        if not reads or writes:
            continue
        handshake = any(r.get("auth") == "none" for r in session)
        downloads = any(_BLOB.match(str(r.get("path", ""))) for r in session)
        if handshake or downloads:
            chosen = session
        else:
            fallback = session
    chosen = chosen or fallback
    redirected = {_hex(r.get("location")) for r in chosen if r.get("status") in _REDIRECTS
                  and _repo_of(str(r.get("path", ""))) == repository}
    keep = []
    for rec in chosen:
        path = str(rec.get("path", ""))
        if _is_storage(rec):
            if _hex(path) in redirected:
                keep.append(rec)
        elif _is_ping(path) or (_repo_of(path) == repository
                                and rec.get("method") in ("GET", "HEAD")):
            keep.append(rec)
    return keep


# -- records to messages ---------------------------------------------------------------------------
def _ping(rec: Record) -> Exchange:
    code = int(rec.get("status", 0))
    method = rec.get("method", "GET")
    if rec.get("auth") == "none":
        request = Message("client", "registry", f"{method} /v2/", "no credentials yet")
        check = Message("registry", "auth", "check Authorization header", "none sent",
                        tone="auth")
        verdict = Message("auth", "registry", "missing: send the challenge", reply=True,
                          tone="auth")
    else:
        request = Message("client", "registry", f"{method} /v2/",
                          "Authorization: Basic base64(AWS:<token>)")
        check = Message("registry", "auth", "verify token (signature, expiry)", tone="auth")
        ok = 200 <= code < 300
        verdict = Message("auth", "registry", "valid" if ok else "refused",
                          "expired: log in again" if code == 403 else "", reply=True,
                          tone="auth" if ok else "error")
    detail = ""
    if rec.get("challenge"):
        detail = _clip(f"WWW-Authenticate: {rec['challenge']}")
    elif 200 <= code < 300:
        detail = "credentials accepted (docker login checks exactly this)"
    reply = Message("registry", "client", _status(code), detail, reply=True, tone=_tone(code))
    return Exchange("authenticate", [request, check, verdict, reply])


def _manifest(rec: Record, name: str, ref: str, digest: str | None) -> Exchange:
    code = int(rec.get("status", 0))
    method = rec.get("method", "GET")
    label = f"{method} /v2/{name}/manifests/{_short_ref(ref)}"
    detail = "Accept: OCI + Docker manifest types"
    answer = _status(code)
    size = int(rec.get("bytes_out") or 0)
    if size:
        answer += f" · {human_bytes(size)}"
    reply_detail = ""
    if 200 <= code < 300:
        shown = ref if ref.startswith("sha256:") else digest
        reply_detail = (f"Docker-Content-Digest: sha256:{short(shown)}…" if shown
                        else "Docker-Content-Digest: the manifest's sha256")
    elif rec.get("challenge"):
        reply_detail = _clip(f"WWW-Authenticate: {rec['challenge']}")
    return Exchange("manifest", [Message("client", "registry", label, detail),
                                 Message("registry", "client", answer, reply_detail, reply=True,
                                         tone=_tone(code))])


def _blob(rec: Record, name: str, digest: str, kind: str, storage: Record | None
          ) -> Exchange:
    code = int(rec.get("status", 0))
    method = rec.get("method", "GET")
    label = f"{method} /v2/{name}/blobs/sha256:{short(digest)}…"
    what = {"config": "the image's config (JSON)", "layer": "a layer (tar.gz)"}.get(
        kind, "the config or a layer")
    messages = [Message("client", "registry", label, what)]
    if code in _REDIRECTS:
        where = str(rec.get("location") or "")
        where = re.sub(r"^https?://[^/]+", "", where)
        messages.append(Message("registry", "client", _status(code),
                                _clip(f"Location: {_short_path(where)}?X-Amz-Signature=…"),
                                reply=True, tone="redirect"))
    else:
        size = int(rec.get("bytes_out") or 0)
        answer = _status(code) + (f" · {human_bytes(size)}" if size else "")
        messages.append(Message("registry", "client", answer, reply=True, tone=_tone(code)))
    if storage is not None:
        messages.extend(_storage_messages(storage))
    section = {"config": "config", "layer": "layers"}.get(kind, "blobs")
    return Exchange(section, messages)


def _short_path(path: str) -> str:
    hx = _hex(path)
    return path.replace(hx, short(hx) + "…") if hx else path


def _storage_messages(rec: Record) -> list[Message]:
    code = int(rec.get("status", 0))
    size = int(rec.get("bytes_out") or 0)
    answer = _status(code) + (f" · {human_bytes(size)}" if size else "")
    detail = "the blob's bytes (the client checks their digest)" if 200 <= code < 300 else ""
    return [Message("client", "storage", f"GET {_short_path(str(rec.get('path', '')))}",
                    "pre-signed URL: no registry credentials needed"),
            Message("storage", "client", answer, detail, reply=True, tone=_tone(code))]


def _other(rec: Record) -> Exchange:
    code = int(rec.get("status", 0))
    target = "storage" if _is_storage(rec) else "registry"
    if rec.get("note") == "token":
        target = "auth"
    label = f"{rec.get('method', 'GET')} {_short_path(str(rec.get('path', '')))}"
    size = int(rec.get("bytes_out") or 0)
    answer = _status(code) + (f" · {human_bytes(size)}" if size else "")
    return Exchange("other", [Message("client", target, label),
                              Message(target, "client", answer, reply=True, tone=_tone(code))])


def _insert_check(exchange: Exchange, code: int) -> None:
    """Put the token check between a request and its answer."""
    ok = code != 401 and code != 403
    item = exchange.messages
    item[1:1] = [Message("registry", "auth", "verify token (signature, expiry)", tone="auth"),
                 Message("auth", "registry", "valid" if ok else "refused", reply=True,
                         tone="auth" if ok else "error")]


def collapse(items: list[Exchange | Skip]) -> list[Exchange | Skip]:
    """Fold runs of identical exchanges (retries, repeated HEADs) into one, counted ×N."""
    out: list[Exchange | Skip] = []
    for item in items:
        last = out[-1] if out else None
        if (isinstance(item, Exchange) and isinstance(last, Exchange)
                and item.key() == last.key()):
            last.count += item.count
            continue
        out.append(item)
    return out


def build(records: Sequence[Record], *, title: str = "", config: str | None = None,
          digest: str | None = None, skipped: Iterable[tuple[str, int]] = (),
          client: str | None = None, source: str = "lab trace",
          layers: Iterable[str] | None = None) -> Flow:
    """Turn one pull's requests into the diagram's exchanges (storage GETs follow their 307).

    The config blob is `config` if given; else, when the image's `layers` are known, the one
    fetched blob that is not a layer.
    """
    layer_hex = {_hex(d) for d in layers or ()}
    ordered = sorted(records, key=lambda r: r.get("seq", 0))
    used: set[int] = set()
    items: list[Exchange | Skip] = []
    fetched: set[str] = set()
    repo_ref = ""
    verified = False
    for i, rec in enumerate(ordered):
        if i in used:
            continue
        path = str(rec.get("path", ""))
        if _is_ping(path):
            items.append(_ping(rec))
            verified = verified or rec.get("auth") == "basic"
            continue
        if not verified and rec.get("auth") == "basic" and path.startswith("/v2"):
            # docker skips the authenticated GET /v2/: its first real request shows the check
            verified = True
            pending_check = True
        else:
            pending_check = False
        before = len(items)
        if m := _MANIFEST.match(path):
            repo_ref = repo_ref or f"{m.group('name')}:{m.group('ref')}"
            items.append(_manifest(rec, m.group("name"), m.group("ref"), digest))
        elif (m := _BLOB.match(path)) and rec.get("method") == "GET":
            blob = m.group("digest")
            storage = None
            if rec.get("status") in _REDIRECTS:
                want = _hex(rec.get("location")) or _hex(blob)
                for j in range(i + 1, len(ordered)):
                    if j not in used and _is_storage(ordered[j]) and _hex(
                            str(ordered[j].get("path"))) == want:
                        used.add(j)
                        storage = ordered[j]
                        break
            fetched.add(_hex(blob))
            if config:
                kind = "config" if _hex(config) == _hex(blob) else "layer"
            elif layer_hex:
                kind = "layer" if _hex(blob) in layer_hex else "config"
            else:
                kind = "blob"  # nothing says which blob is the config
            items.append(_blob(rec, m.group("name"), blob, kind, storage))
        else:
            items.append(_other(rec))
        if pending_check and len(items) > before:
            _insert_check(items[-1], int(rec.get("status", 0)))
    skips = [Skip(d, int(s), "config" if config and _hex(config) == _hex(d) else "layer")
             for d, s in skipped if _hex(d) not in fetched]
    items = collapse(items) + list(skips)
    if not title:
        title = f"pull {repo_ref}" if repo_ref else "pull"
    return Flow(title, client or client_name(ordered), items, source,
                sum(1 for r in ordered if not r.get("implied")))


# -- from an engine's report (real AWS, no trace) --------------------------------------------------
def _split_ref(ref: str) -> tuple[str, str, str]:
    """registry, repository, reference (tag or digest) of `ref`."""
    name, _, pinned = ref.partition("@")
    tag = ""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, _, rest = name.partition("/")
    registry, repo = ("", name)
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repo = first, rest
    return registry, repo, pinned or tag or "latest"


def records_from_report(report: TransferReport) -> list[Record]:
    """Trace-like records from a pull report: its recorded steps, else rebuilt from its layers.

    Engines answer the 401 challenge themselves and record only the retry; the 401 is put
    back (marked `implied`) so the diagram still shows the handshake that must have happened.
    """
    records: list[Record] = []

    def add(method: str, path: str, status: int, nbytes: int = 0, **extra: Any) -> Record:
        rec: Record = {"seq": len(records) + 1, "method": method, "path": path,
                       "status": status, "bytes_in": 0 if method in ("GET", "HEAD") else nbytes,
                       "bytes_out": nbytes if method in ("GET", "HEAD") else 0,
                       "auth": "basic", "location": None, "challenge": None, "agent": ""}
        rec.update(extra)
        records.append(rec)
        return rec

    implied = "Basic realm=… (answered by the engine, not recorded)"
    if report.steps:
        prev = None
        for step in report.steps:
            redirected = prev is not None and prev["status"] in _REDIRECTS and not \
                step.path.startswith("/v2")
            if _is_ping(step.path) and step.status == 200 and not any(
                    _is_ping(r["path"]) for r in records):
                add("GET", "/v2/", 401, auth="none", challenge=implied, implied=True)
            rec = add(step.method, step.path, step.status, step.bytes, note=step.note,
                      auth="presigned" if redirected else "basic")
            if redirected and prev is not None:
                prev["location"] = step.path
            prev = rec
        return records
    _, repo, ref = _split_ref(report.ref)
    add("GET", "/v2/", 401, auth="none", challenge=implied, implied=True)
    add("GET", "/v2/", 200, 2)
    add("GET", f"/v2/{repo}/manifests/{ref}", 200)
    blobs = [x for x in report.layers if x.kind == "config"]
    blobs += [x for x in report.layers if x.kind != "config"]
    for layer in blobs:
        if layer.status != PULLED:
            continue
        hx = _hex(layer.digest)
        add("GET", f"/v2/{repo}/blobs/{layer.digest}", 307,
            location=f"/_storage/blobs/sha256/{hx}")
        add("GET", f"/_storage/blobs/sha256/{hx}", 200, layer.moved or layer.size,
            auth="presigned")
    return records


def from_report(report: TransferReport, title: str = "") -> Flow:
    """The pull flow of a report (for real AWS, where the lab's trace does not exist)."""
    config = next((x.digest for x in report.layers if x.kind == "config"), None)
    skipped = [(x.digest, x.size) for x in report.layers if x.status.startswith(EXISTS_LOCAL)]
    records = records_from_report(report)
    source = "engine report" if report.steps else "engine report (layers only)"
    return build(records, title=title or f"pull {report.ref}", config=config,
                 digest=report.digest or None, skipped=skipped,
                 layers=[x.digest for x in report.layers if x.kind != "config"],
                 client="labkit (builtin engine)" if report.engine == "builtin" else report.engine,
                 source=source)


def report_hints(report: TransferReport | None) -> Mapping[str, Any]:
    """What a pull report adds to a trace: which blob is the config, what was skipped."""
    if report is None:
        return {}
    return {"config": next((x.digest for x in report.layers if x.kind == "config"), None),
            "layers": [x.digest for x in report.layers if x.kind != "config"],
            "digest": report.digest or None,
            "skipped": [(x.digest, x.size) for x in report.layers
                        if x.status.startswith(EXISTS_LOCAL)]}
