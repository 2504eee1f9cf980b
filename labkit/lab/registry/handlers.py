"""The registry's HTTP side: a WSGI app for `/v2/...` (OCI distribution spec v1.1, ECR's rules)
and `/_storage/...` (the pre-signed blob downloads a blob GET redirects to).

Authentication and authorization happen before this app is called (the lab's front door,
labkit/lab/server/authz.py);
`/_storage/` needs none, the signature in the URL is the credential, as with S3.
Repository names contain slashes, so paths are matched from the right.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.datastructures import Range
from werkzeug.http import parse_range_header
from werkzeug.wrappers import Request, Response

from ...oci import mediatypes as mt
from ...oci import routes
from ...oci.manifest import MAX_MANIFEST_BYTES, ManifestError
from ...trace import record as rec
from ..access.actions import REGISTRY_ACTIONS
from ..auth.signing import Signer
from ..trace import note, refuse
from . import errors
from .controlplane import ControlPlane
from .manifest_rules import read_pushed, serve_as
from .names import check_digest, check_name, check_tag, check_upload_id, is_name, is_tag
from .presign import DEFAULT_TTL, Presigner, Refusal
from .referrers import referrers
from .storage import Storage, StoredImage
from .streams import (
    BodyReader,
    content_length,
    file_chunks,
    has_body,
    parse_content_range,
    read_body,
)

log = logging.getLogger(__name__)

API_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
HEX64 = re.compile(r"^[a-f0-9]{64}$")
class FinalResponse(Response):
    """A hot-path answer (blob HEAD, manifest GET) built with its final headers, Content-Length
    included: werkzeug's per-answer header rewriting (relative Location, computed length) has
    nothing to do for it, and skipping it is a third of such an answer's cost. The body is
    given as a list: a bytes body would make werkzeug set Content-Length to its own length
    (0 for a HEAD's empty body)."""

    def get_wsgi_headers(self, environ: dict[str, Any]) -> Any:
        return self.headers


@functools.lru_cache(maxsize=256)
def _accepted(values: tuple[str, ...]) -> frozenset[str] | None:
    types = frozenset(part.split(";")[0].strip().lower()
                      for value in values for part in value.split(",") if part.strip())
    if not types or "*/*" in types or "application/*" in types:
        return None
    return types


class RouteUnknown(errors.Unsupported):
    status, default_message = 404, "no such registry endpoint"


def match_route(path: str) -> routes.Match:
    """The route `path` names (labkit/oci/routes.py: names are greedy, paths parse from the
    right), or 404 for a path the registry does not serve."""
    found = routes.match(path)
    if found is None:
        raise RouteUnknown(detail={"path": path[:300]})
    return found


class PaginationNumberInvalid(errors.RegistryError):
    """Distribution's code for a bad `n` in the tags list or the catalog."""

    code, status = "PAGINATION_NUMBER_INVALID", 400
    default_message = "invalid number of results requested"  # Distribution's errcode text


class RegistryApp:
    """The data plane as a WSGI app: `RegistryApp(storage, control, signer)(environ, start)`."""

    def __init__(self, storage: Storage, control: ControlPlane, signer: Signer,
                 public_url: Callable[[dict[str, Any]], str] | None = None, *,
                 url_ttl: int = DEFAULT_TTL, clock: Callable[[], float] = time.time,
                 redirect_blobs: bool = True,
                 visible: Callable[[dict[str, Any], str], bool] | None = None):
        self.storage = storage
        self.control = control
        self.clock = clock  # the lab's clock: push times (lifecycle ages) and URL expiry
        self.presigner = Presigner(signer, url_ttl, clock)
        self.public_url = public_url
        self.redirect_blobs = redirect_blobs
        # whether the catalog lists a repository to the request's caller (the lab's front
        # door decides: DescribeRepositories on it); None lists every repository
        self.visible = visible

    # ---- WSGI entry and dispatch ----

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except errors.RegistryError as e:
            response = self.error(e, environ)
        except Exception as e:  # noqa: BLE001 - the last resort: answer the spec's shape
            if isinstance(e, OSError) and e.errno in DISK_FULL:
                log.warning("registry: disk full under %s on %s %s", self.storage.root,
                            request.method, request.path)
                response = self.error(errors.InsufficientStorage(
                    detail={"storage": str(self.storage.root)}), environ)
            else:
                log.exception("registry: unexpected error on %s %s", request.method,
                              request.path)
                response = self.error(errors.UnknownError("internal error in the lab's registry"),
                                      environ)
        if not request.path.startswith("/_storage/"):  # storage answers like S3, not a registry
            response.headers.setdefault(*API_HEADER)
        return response(environ, start_response)

    @staticmethod
    def note_route(request: Request, m: routes.Match) -> None:
        """Tell the trace what this request is: the route, what it names, its ECR action."""
        method = request.method
        actions = REGISTRY_ACTIONS.get((m.route, method))
        digest, mount_from = m.digest, None
        if m.route == "upload":
            args = request.args
            digest = args.get("mount") or args.get("digest")
            mount_from = args.get("from") if args.get("mount") else None
        note(request.environ, route=m.route, repository=m.name, reference=m.reference,
             digest=digest, upload=m.upload or None, mount_from=mount_from,
             action=actions[0] if actions else None)

    def note_request(self, environ: dict[str, Any]) -> None:
        """Describe a request the front door refuses before the registry serves it."""
        m = routes.match(environ.get("PATH_INFO", ""))
        if m is not None:
            self.note_route(Request(environ), m)

    def dispatch(self, request: Request) -> Response:
        m = match_route(request.environ.get("PATH_INFO", ""))
        route, method = m.route, request.method
        self.note_route(request, m)
        if method not in routes.METHODS[route]:
            raise errors.Unsupported(detail={"method": method,
                                             "reason": "not supported on this endpoint"})
        if route == "base":
            return self.json({})
        if route == "storage":
            return self.storage_get(request, (m.digest or "").removeprefix("sha256:"))
        if route == "catalog":
            return self.catalog(request)
        pushing = (route == "upload" and method == "POST") or (route == "manifest"
                                                               and method == "PUT")
        name = self.repository(m.name or "", pushing)
        if route == "upload":
            upload = m.upload or ""
            if method == "POST":
                if upload:
                    raise errors.Unsupported(
                        detail={"reason": "POST starts an upload at .../blobs/uploads/"})
                return self.upload_start(request, name)
            if not upload:
                raise errors.BlobUploadUnknown.of("")
            check_upload_id(upload)
            return {"PATCH": self.upload_patch, "PUT": self.upload_put,
                    "GET": self.upload_status, "DELETE": self.upload_cancel}[method](
                request, name, upload)
        if route == "blob":
            return {"GET": self.blob_get, "HEAD": self.blob_head,
                    "DELETE": self.blob_delete}[method](request, name, m.digest or "")
        if route == "manifest":
            return {"GET": self.manifest_get, "HEAD": self.manifest_get,
                    "PUT": self.manifest_put, "DELETE": self.manifest_delete}[method](
                request, name, m.reference or "")
        if route == "tags":
            return self.tags_list(request, name)
        return self.referrers(request, name, m.digest or "")

    def repository(self, name: str, pushing: bool = False) -> str:
        """A valid name of an existing repository.  ECR creates one on push only when a
        creation template applied for CREATE_ON_PUSH matches (the control plane decides)."""
        check_name(name)
        exists = (self.control.repository_for_push(name) if pushing
                  else self.control.repository_exists(name))
        if not exists:
            raise errors.NameUnknown.for_repo(name, self.control.registry_id)
        return name

    # ---- responses ----

    @staticmethod
    def error(e: errors.RegistryError, environ: dict[str, Any] | None = None) -> Response:
        """The spec's JSON answer; the trace keeps the code, the message and the facts."""
        if environ is not None:
            refuse(environ, e.code, e.message, **e.facts)
        response = Response(e.body(), status=e.status, content_type="application/json")
        for key, value in e.headers.items():
            response.headers[key] = value
        return response

    @staticmethod
    def json(doc: Any, status: int = 200, content_type: str = "application/json") -> Response:
        return Response(json.dumps(doc).encode(), status=status, content_type=content_type)

    @staticmethod
    def empty(status: int, headers: dict[str, str]) -> Response:
        response = Response(b"", status=status, headers=headers)
        response.headers["Content-Length"] = "0"
        return response

    def base_url(self, request: Request) -> str:
        if self.public_url is not None:
            return self.public_url(request.environ).rstrip("/")
        return request.host_url.rstrip("/")

    def upload_headers(self, request: Request, name: str, upload_id: str,
                       offset: int) -> dict[str, str]:
        # Distribution's convention: the last byte held, 0-0 for an empty upload.
        return {"Location": f"{self.base_url(request)}/v2/{name}/blobs/uploads/{upload_id}",
                "Range": f"0-{max(offset - 1, 0)}", "Docker-Upload-UUID": upload_id}

    # ---- blobs ----

    def blob_head(self, request: Request, name: str, digest: str) -> Response:
        check_digest(digest)
        size = self.storage.repo_blob_size(name, digest)
        if size is None:
            raise errors.BlobUnknown.of(digest)
        return FinalResponse([], status=200, headers=[
            ("Content-Type", "application/octet-stream"), ("Content-Length", str(size)),
            ("Docker-Content-Digest", digest), ("Accept-Ranges", "bytes"),
            ("ETag", f'"{digest}"')])

    def blob_get(self, request: Request, name: str, digest: str) -> Response:
        hex_digest = check_digest(digest)
        size = self.storage.repo_blob_size(name, digest)
        if size is None:
            raise errors.BlobUnknown.of(digest)
        if not self.redirect_blobs:
            return self.serve_blob(request, digest, size)
        # Like ECR's redirect to S3: the bytes come from storage, through a signed URL.
        location = self.presigner.url(self.base_url(request), hex_digest)
        return self.empty(307, {"Location": location, "Docker-Content-Digest": digest})

    def blob_delete(self, request: Request, name: str, digest: str) -> Response:
        """The lab does not delete blobs on request (the spec lets a registry refuse with 405
        UNSUPPORTED): layers go when no image uses them any more, so a DELETE can never break
        a tagged image.  (ECR's own answer to a blob DELETE is not on record.)"""
        check_digest(digest)
        raise errors.Unsupported(detail={
            "digest": digest,
            "reason": "the ECR lab does not delete blobs on request: delete the image "
                      "(BatchDeleteImage or a manifest DELETE); layers no image uses are "
                      "cleaned up by the registry"})

    def serve_blob(self, request: Request, digest: str, size: int) -> Response:
        """The blob's bytes, honouring a single byte Range (206, or 416 if unsatisfiable)."""
        headers = {"Docker-Content-Digest": digest, "Accept-Ranges": "bytes",
                   "ETag": f'"{digest}"', "Content-Type": "application/octet-stream"}
        rng = self.single_range(request)
        start, length, status = 0, size, 200
        if rng is not None:
            bounds = rng.range_for_length(size)
            if bounds is None:
                headers["Content-Range"] = f"bytes */{size}"
                raise errors.RangeInvalid(detail={"Range": str(request.headers.get("Range"))[:60],
                                                  "size": size}, headers=headers)
            start, stop = bounds
            length, status = stop - start, 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        path = self.storage.blob_path(digest)
        response = Response(file_chunks(path, start, length), status=status, headers=headers,
                            direct_passthrough=True)
        response.headers["Content-Length"] = str(length)
        return response

    @staticmethod
    def single_range(request: Request) -> Range | None:
        """One byte range, or None (no header, a malformed one, or several: serve it all)."""
        header = request.headers.get("Range")
        if not header:
            return None
        rng = parse_range_header(header)
        if rng is None or rng.units != "bytes" or len(rng.ranges) != 1:
            return None
        return rng

    def storage_get(self, request: Request, hex_digest: str) -> Response:
        """A pre-signed download: no registry credentials, only a genuine, current signature."""
        path = request.environ.get("PATH_INFO", "")
        refusal, extra = self.presigner.check(path, request.args)
        if refusal is not None:
            refuse(request.environ, refusal.code, refusal.message,
                   **{rec.URL_EXPIRES: extra.get("Expires")})
            return Response(refusal.xml(extra), status=refusal.status,
                            content_type="application/xml")
        digest = f"sha256:{hex_digest}"
        size = self.storage.blob_size(digest) if HEX64.match(hex_digest) else None
        if size is None:
            missing = Refusal("NoSuchKey", "The specified key does not exist.", 404)
            refuse(request.environ, missing.code, missing.message, **{rec.MISSING: "blob"})
            return Response(missing.xml({"Key": path.removeprefix("/_storage/")}), status=404,
                            content_type="application/xml")
        try:
            return self.serve_blob(request, digest, size)
        except errors.RangeInvalid as e:
            bad = Refusal("InvalidRange", "The requested range is not satisfiable", 416)
            refuse(request.environ, bad.code, bad.message)
            response = Response(bad.xml(), status=416, content_type="application/xml")
            response.headers["Content-Range"] = e.headers.get("Content-Range", f"bytes */{size}")
            return response

    # ---- uploads ----

    def upload_start(self, request: Request, name: str) -> Response:
        args = request.args
        mount, source = args.get("mount"), args.get("from")
        if mount:
            check_digest(mount)
            # The spec's mount: 201 if the blob is in `from` (and we may read it), else 202 and
            # a plain upload session.  As on ECR, only once the registry's BLOB_MOUNTING account
            # setting is ENABLED (it is off by default); then any blob linked in `from` mounts.
            if (source and is_name(source) and self.control.blob_mounting()
                    and self.control.repository_exists(source)
                    and self.storage.repo_blob_size(source, mount) is not None):
                self.storage.link_blob(name, mount)
                return self.empty(201, {
                    "Location": f"{self.base_url(request)}/v2/{name}/blobs/{mount}",
                    "Docker-Content-Digest": mount})
        digest = args.get("digest")
        if digest is not None:
            check_digest(digest)
            self.storage.put_blob(name, digest, BodyReader(request.environ))
            return self.empty(201, {
                "Location": f"{self.base_url(request)}/v2/{name}/blobs/{digest}",
                "Docker-Content-Digest": digest})
        upload_id = self.storage.start_upload(name)
        note(request.environ, upload=upload_id)  # the trace links the session's PATCH/PUT to it
        return self.empty(202, self.upload_headers(request, name, upload_id, 0))

    def _append(self, request: Request, name: str, upload_id: str) -> int:
        environ = request.environ
        try:
            start = parse_content_range(request.headers.get("Content-Range"),
                                        content_length(environ))
            return self.storage.append_upload(name, upload_id, BodyReader(environ), start)
        except errors.ChunkRangeInvalid as e:
            offset = self.storage.upload_offset(name, upload_id)
            e.headers.update(self.upload_headers(request, name, upload_id, offset))
            raise

    def upload_patch(self, request: Request, name: str, upload_id: str) -> Response:
        offset = self._append(request, name, upload_id)
        return self.empty(202, self.upload_headers(request, name, upload_id, offset))

    def upload_put(self, request: Request, name: str, upload_id: str) -> Response:
        digest = request.args.get("digest")
        if not digest:
            raise errors.DigestInvalid(detail={"reason": "the final PUT of an upload needs "
                                                         "?digest="})
        check_digest(digest)
        if has_body(request.environ):
            self._append(request, name, upload_id)
        self.storage.finish_upload(name, upload_id, digest)
        return self.empty(201, {
            "Location": f"{self.base_url(request)}/v2/{name}/blobs/{digest}",
            "Docker-Content-Digest": digest})

    def upload_status(self, request: Request, name: str, upload_id: str) -> Response:
        offset = self.storage.upload_offset(name, upload_id)
        return self.empty(204, self.upload_headers(request, name, upload_id, offset))

    def upload_cancel(self, request: Request, name: str, upload_id: str) -> Response:
        self.storage.cancel_upload(name, upload_id)
        return self.empty(204, {})

    # ---- manifests ----

    @staticmethod
    def accepted(request: Request) -> frozenset[str] | None:
        """The media types the client accepts; None means anything (no Accept, or a wildcard).
        A client sends the same Accept on every pull: parsed once per distinct value."""
        return _accepted(tuple(request.headers.getlist("Accept")))

    def negotiate(self, request: Request, name: str, image: StoredImage,
                  by_tag: bool) -> StoredImage:
        """What to answer a manifest GET with, given its Accept header (ECR's rules, in
        manifest_rules.serve_as: as stored, an index resolved to linux/amd64, or by tag a
        translation between Docker schema 2 and OCI).  Otherwise 404 MANIFEST_UNKNOWN, with why
        in `detail`.  ECR's rewriting of schema 2 into schema 1 for clients that accept
        neither is not reproduced: schema 1 is deprecated and no current client asks for it."""
        accepted = self.accepted(request)
        served = serve_as(self.storage, name, image, accepted, by_tag)
        if served is None:
            raise errors.ManifestUnknown(detail={
                "mediaType": image.media_type, "accepts": sorted(accepted or ()),
                "reason": "the manifest is stored in a format the Accept header does not allow"
                          + ("" if by_tag else " (a pull by digest is never translated)")})
        return served

    def manifest_get(self, request: Request, name: str, reference: str) -> Response:
        if ":" in reference:
            check_digest(reference)
        elif not is_tag(reference):
            raise errors.ManifestUnknown.of(reference, {"tag": reference[:200]})
        image = self.storage.get_manifest(name, reference, tags=False)
        if image is None:
            raise errors.ManifestUnknown.of(reference)
        image = self.negotiate(request, name, image, by_tag=":" not in reference)
        if request.method == "GET":  # ECR's lastRecordedPullTime: a pull is a manifest GET
            self.storage.record_pull(name, image.translated_from or image.digest)
        return FinalResponse([image.raw], status=200, headers=[
            ("Content-Type", image.media_type), ("Docker-Content-Digest", image.digest),
            ("ETag", f'"{image.digest}"'), ("Content-Length", str(len(image.raw)))])

    def manifest_put(self, request: Request, name: str, reference: str) -> Response:
        by_digest = ":" in reference
        if by_digest:
            check_digest(reference)
        else:
            check_tag(reference)
        length = content_length(request.environ)
        if length is not None and length > MAX_MANIFEST_BYTES:
            raise errors.ManifestNotReadable(f"the manifest is {length} bytes; the limit is "
                                             f"{MAX_MANIFEST_BYTES}")
        raw = read_body(request.environ, MAX_MANIFEST_BYTES)
        try:
            manifest = read_pushed(raw, request.headers.get("Content-Type"))
        except ManifestError as e:
            raise errors.ManifestNotReadable(str(e)) from None
        registry_id = self.control.registry_id
        if by_digest and manifest.digest != reference:
            raise errors.ManifestInvalid.digest_mismatch(reference, manifest.digest, name,
                                                         registry_id)
        missing = self.storage.missing_references(name, manifest)
        if missing and manifest.is_index:
            raise errors.ManifestBlobUnknown.images_missing(missing, name, registry_id)
        if missing:
            raise errors.LayersMissing(missing, name, registry_id)
        tag = None if by_digest else reference
        # ECR refuses to overwrite a tag of an IMMUTABLE repository even with the very same
        # digest (ImageTagAlreadyExistsException / TAG_INVALID): aws/containers-roadmap#2179
        # and #2380, aws/aws-sdk#750 ask for exactly that to be relaxed.  So the lab refuses too.
        immutable = tag is not None and self.control.tag_immutable(name, tag)
        pushed_at = self.clock()
        stored = self.storage.put_manifest(name, manifest, tag, immutable, pushed_at)
        self.control.image_pushed(name, manifest, tag, stored.pushed_at)
        headers = {"Location": f"{self.base_url(request)}/v2/{name}/manifests/{stored.digest}",
                   "Docker-Content-Digest": stored.digest}
        if manifest.subject is not None:
            headers["OCI-Subject"] = manifest.subject.digest
        return self.empty(201, headers)

    def manifest_delete(self, request: Request, name: str, reference: str) -> Response:
        if ":" in reference:
            check_digest(reference)
            if self.storage.delete_manifest(name, reference) is None:
                raise errors.ManifestUnknown.of(reference, {"digest": reference})
            return self.empty(202, {})
        if not is_tag(reference) or not self.storage.delete_tag(name, reference):
            raise errors.ManifestUnknown.of(reference, {"tag": reference[:200]})
        return self.empty(202, {})

    # ---- listings ----

    @staticmethod
    def page(request: Request, items: list[str], path: str) -> tuple[list[str], str | None]:
        """Items after `last`, at most `n` of them, and the Link to the next page if any."""
        args = request.args
        last, n_raw = args.get("last"), args.get("n")
        if last:
            items = [i for i in items if i > last]
        if n_raw is None or n_raw == "":
            return items, None
        try:
            n = int(n_raw)
        except ValueError:
            raise PaginationNumberInvalid(detail={"n": n_raw[:40]}) from None
        if n < 0:
            raise PaginationNumberInvalid(detail={"n": n_raw[:40]})
        page = items[:n]
        if n and len(items) > n:
            return page, f'<{path}?n={n}&last={page[-1]}>; rel="next"'
        return page, None

    def tags_list(self, request: Request, name: str) -> Response:
        tags, link = self.page(request, self.storage.tags(name), f"/v2/{name}/tags/list")
        response = self.json({"name": name, "tags": tags})
        if link:
            response.headers["Link"] = link
        return response

    def catalog(self, request: Request) -> Response:
        names = [n for n in self.storage.repositories() if self.control.repository_exists(n)
                 and (self.visible is None or self.visible(request.environ, n))]
        page, link = self.page(request, names, "/v2/_catalog")
        response = self.json({"repositories": page})
        if link:
            response.headers["Link"] = link
        return response

    def referrers(self, request: Request, name: str, digest: str) -> Response:
        """The OCI 1.1 referrers API: manifests whose `subject` is `digest`."""
        check_digest(digest)
        wanted = request.args.get("artifactType")
        found = referrers(self.storage.images(name), digest, [wanted] if wanted else [])
        response = self.json({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": found},
                             content_type=mt.OCI_INDEX)
        if wanted:
            response.headers["OCI-Filters-Applied"] = "artifactType"
        return response
