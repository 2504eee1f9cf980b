"""The pull flow as data: one pull's records (read from the lab's trace by labkit.trace, or
made from an engine's steps) turned into the messages of a sequence diagram. No drawing here,
so the rules are easy to test and reuse.

Lifelines: the client (docker or labkit), the registry (ECR's `/v2/` endpoint), auth (the token
check in front of it) and storage (the pre-signed, S3-like URLs a blob GET redirects to).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from ...engines.report import EXISTS_LOCAL, TransferReport, human_bytes
from ...oci.digest import short
from ...trace import reader
from ...trace.reader import pull_requests, sessions
from ...trace.record import BASIC, BLOB, MANIFEST, NO_AUTH, TOKEN, TraceRecord

LIFELINES = ("client", "registry", "auth", "storage")

__all__ = ["Exchange", "Flow", "Message", "Skip", "build", "client_name", "collapse",
           "from_report", "image_hints", "pull_requests", "report_hints", "sessions"]


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
    if 300 <= code < 400:
        return "redirect"
    return "ok" if 200 <= code < 300 else "error"


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _shorten(text: str, digest: str | None) -> str:
    """`text` with the digest's 64 hex digits cut to docker's 12 (and an ellipsis)."""
    hx = (digest or "").split(":", 1)[-1]
    return text.replace(hx, short(hx) + "…") if len(hx) == 64 else text


def _label(rec: TraceRecord) -> str:
    """`METHOD path` as the client sent it, digests shortened."""
    return f"{rec.method or 'GET'} {_shorten(_shorten(rec.path, rec.digest), rec.reference)}"


def client_name(records: Iterable[TraceRecord]) -> str:
    """Name the client from its User-Agent: docker, labkit's engine, skopeo, containerd..."""
    for rec in records:
        if rec.client:
            return reader.client_name(rec.client)
    return "client"


# -- records to messages ---------------------------------------------------------------------------
def _ping(rec: TraceRecord) -> Exchange:
    code = rec.status
    label = _label(rec)
    if rec.auth == NO_AUTH:
        request = Message("client", "registry", label, "no credentials yet")
        check = Message("registry", "auth", "check Authorization header", "none sent",
                        tone="auth")
        verdict = Message("auth", "registry", "missing: send the challenge", reply=True,
                          tone="auth")
    else:
        request = Message("client", "registry", label,
                          "Authorization: Basic base64(AWS:<token>)")
        check = Message("registry", "auth", "verify token (signature, expiry)", tone="auth")
        verdict = Message("auth", "registry", "valid" if rec.ok else "refused",
                          "expired: log in again" if code == 403 else "", reply=True,
                          tone="auth" if rec.ok else "error")
    detail = ""
    if rec.challenge:
        detail = _clip(f"WWW-Authenticate: {rec.challenge}")
    elif rec.ok:
        detail = "credentials accepted (docker login checks exactly this)"
    reply = Message("registry", "client", _status(code), detail, reply=True, tone=_tone(code))
    return Exchange("authenticate", [request, check, verdict, reply])


def _answer(rec: TraceRecord) -> str:
    return _status(rec.status) + (f" · {human_bytes(rec.bytes_out)}" if rec.bytes_out else "")


def _manifest(rec: TraceRecord, digest: str | None) -> Exchange:
    reply_detail = ""
    if rec.ok:
        shown = rec.content_digest or (rec.reference if (rec.reference or "").startswith(
            "sha256:") else digest)
        reply_detail = (f"Docker-Content-Digest: sha256:{short(shown)}…" if shown
                        else "Docker-Content-Digest: the manifest's sha256")
    elif rec.challenge:
        reply_detail = _clip(f"WWW-Authenticate: {rec.challenge}")
    elif rec.reason is not None:
        reply_detail = _clip(f"{rec.reason.code}: {rec.reason.message}")
    return Exchange("manifest", [
        Message("client", "registry", _label(rec), "Accept: OCI + Docker manifest types"),
        Message("registry", "client", _answer(rec), reply_detail, reply=True,
                tone=_tone(rec.status))])


def _blob(rec: TraceRecord, kind: str, storage: TraceRecord | None) -> Exchange:
    what = {"config": "the image's config (JSON)", "layer": "a layer (tar.gz)"}.get(
        kind, "the config or a layer")
    messages = [Message("client", "registry", _label(rec), what)]
    if rec.redirected:
        where = _shorten(urlsplit(rec.location or "").path, rec.digest)
        messages.append(Message("registry", "client", _status(rec.status),
                                _clip(f"Location: {where}?X-Amz-Signature=…"),
                                reply=True, tone="redirect"))
    else:
        messages.append(Message("registry", "client", _answer(rec), reply=True,
                                tone=_tone(rec.status)))
    if storage is not None:
        messages.extend(_storage_messages(storage))
    section = {"config": "config", "layer": "layers"}.get(kind, "blobs")
    return Exchange(section, messages)


def _storage_messages(rec: TraceRecord) -> list[Message]:
    detail = "the blob's bytes (the client checks their digest)" if rec.ok else ""
    return [Message("client", "storage", _label(rec),
                    "pre-signed URL: no registry credentials needed"),
            Message("storage", "client", _answer(rec), detail, reply=True,
                    tone=_tone(rec.status))]


def _other(rec: TraceRecord) -> Exchange:
    target = "storage" if rec.is_download else ("auth" if rec.route == TOKEN else "registry")
    return Exchange("other", [Message("client", target, _label(rec)),
                              Message(target, "client", _answer(rec), reply=True,
                                      tone=_tone(rec.status))])


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


def build(records: Sequence[TraceRecord], *, title: str = "", config: str | None = None,
          digest: str | None = None, skipped: Iterable[tuple[str, int]] = (),
          client: str | None = None, source: str = "lab trace",
          layers: Iterable[str] | None = None, requests: int | None = None) -> Flow:
    """Turn one pull's requests into the diagram's exchanges (storage GETs follow their 307).

    The config blob is `config` if given; else, when the image's `layers` are known, the one
    fetched blob that is not a layer. `requests`: how many real requests the records stand
    for (default: all of them).
    """
    layer_set = set(layers or ())
    ordered = reader.ordered(records)
    used: set[int] = set()
    items: list[Exchange | Skip] = []
    fetched: set[str] = set()
    title_ref = ""
    verified = False
    for i, rec in enumerate(ordered):
        if i in used:
            continue
        if rec.is_ping:
            items.append(_ping(rec))
            verified = verified or rec.auth == BASIC
            continue
        pending_check = not verified and rec.auth == BASIC and not rec.is_download
        verified = verified or pending_check  # docker skips the authenticated GET /v2/
        before = len(items)
        if rec.route == MANIFEST:
            title_ref = title_ref or f"{rec.repository}:{rec.reference}"
            items.append(_manifest(rec, digest))
        elif rec.route == BLOB and rec.method == "GET":
            storage = None
            if rec.redirected:
                for j in range(i + 1, len(ordered)):
                    if j not in used and ordered[j].is_download and \
                            ordered[j].digest == rec.digest:
                        used.add(j)
                        storage = ordered[j]
                        break
            blob = rec.digest or ""
            fetched.add(blob)
            if config:
                kind = "config" if config == blob else "layer"
            elif layer_set:
                kind = "layer" if blob in layer_set else "config"
            else:
                kind = "blob"  # nothing says which blob is the config
            items.append(_blob(rec, kind, storage))
        else:
            items.append(_other(rec))
        if pending_check and len(items) > before:
            _insert_check(items[-1], rec.status)
    skips = [Skip(d, int(n), "config" if config and config == d else "layer")
             for d, n in skipped if d not in fetched]
    items = collapse(items) + list(skips)
    if not title:
        title = f"pull {title_ref}" if title_ref else "pull"
    return Flow(title, client or client_name(ordered), items, source,
                len(ordered) if requests is None else requests)


def image_hints(image: Any, fetched: Iterable[str]) -> dict[str, Any]:
    """What the registry's knowledge of the pulled image adds to a trace (labkit.ecr.images
    ImageFacts): which blob is the config, the layers, and what the client did not fetch
    because it had it already (every blob, when docker had the image: a HEAD only)."""
    if image is None:
        return {}
    got = set(fetched)
    return {"config": image.config.digest if image.config else None,
            "layers": [b.digest for b in image.layers], "digest": image.digest,
            "skipped": [(b.digest, b.size) for b in image.blobs if b.digest not in got]}


# -- from an engine's report (real AWS, no trace) --------------------------------------------------
def from_report(report: TransferReport, title: str = "") -> Flow:
    """The pull flow of a report (for real AWS, where the lab's trace does not exist)."""
    from ...trace.steps import IMPLIED_CHALLENGE, records_from_report

    config = next((x.digest for x in report.layers if x.kind == "config"), None)
    skipped = [(x.digest, x.size) for x in report.layers if x.status.startswith(EXISTS_LOCAL)]
    records = records_from_report(report)
    source = "engine report" if report.steps else "engine report (layers only)"
    return build(records, title=title or f"pull {report.ref}", config=config,
                 digest=report.digest or None, skipped=skipped,
                 layers=[x.digest for x in report.layers if x.kind != "config"],
                 client="labkit (builtin engine)" if report.engine == "builtin" else report.engine,
                 source=source,
                 requests=sum(1 for r in records if r.challenge != IMPLIED_CHALLENGE))


def report_hints(report: TransferReport | None) -> Mapping[str, Any]:
    """What a pull report adds to a trace: which blob is the config, what was skipped."""
    if report is None:
        return {}
    return {"config": next((x.digest for x in report.layers if x.kind == "config"), None),
            "layers": [x.digest for x in report.layers if x.kind != "config"],
            "digest": report.digest or None,
            "skipped": [(x.digest, x.size) for x in report.layers
                        if x.status.startswith(EXISTS_LOCAL)]}
