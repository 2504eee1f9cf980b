"""The registry data plane through werkzeug's test client: every route and every spec error."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from labkit.lab.control.backend import EcrBackend
from labkit.lab.registry.handlers import RegistryApp
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt
from tests.registry_server import image_tags, make_app

REGISTRY_ID = "123456789012"


@pytest.fixture()
def lab(tmp_path: Path) -> tuple[RegistryApp, EcrBackend, Client]:
    app, control = make_app(tmp_path / "reg", {"hello-app": False, "team/base": False,
                                               "frozen": True})
    return app, control, Client(app)


def code(resp) -> str:
    return json.loads(resp.get_data())["errors"][0]["code"]


def message(resp) -> str:
    return json.loads(resp.get_data())["errors"][0]["message"]


def push_blob(client: Client, name: str, data: bytes) -> str:
    digest = dg.of_bytes(data)
    r = client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", data=data)
    assert r.status_code == 201, r.get_data()
    return digest


def image(client: Client, name: str, layer: bytes = b"layer-bytes",
          media_type: str = mt.OCI_MANIFEST, **extra) -> bytes:
    """Push a config and a layer, return manifest bytes naming them (not pushed yet)."""
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    cd, ld = push_blob(client, name, config), push_blob(client, name, layer)
    cfg_type = mt.DOCKER_CONFIG if media_type == mt.DOCKER_MANIFEST else mt.OCI_CONFIG
    layer_type = mt.DOCKER_LAYER if media_type == mt.DOCKER_MANIFEST else mt.OCI_LAYER
    doc = json.loads(mf.build(mf.Descriptor(cfg_type, cd, len(config)),
                              [mf.Descriptor(layer_type, ld, len(layer))], media_type))
    doc.update(extra)
    return mf.canonical_json(doc)


def put_manifest(client: Client, name: str, ref: str, raw: bytes,
                 media_type: str = mt.OCI_MANIFEST):
    return client.put(f"/v2/{name}/manifests/{ref}", data=raw,
                      headers={"Content-Type": media_type})


# ---- base, routing, names ----

def test_base_answers_with_api_version(lab):
    _, _, c = lab
    r = c.get("/v2/")
    assert r.status_code == 200 and r.get_json() == {}
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_unknown_repository_is_name_unknown_with_ecrs_message(lab):
    _, _, c = lab
    r = c.post("/v2/nothere/blobs/uploads/")
    assert r.status_code == 404 and code(r) == "NAME_UNKNOWN"
    assert message(r) == ("The repository with name 'nothere' does not exist in the registry "
                          f"with id '{REGISTRY_ID}'")
    assert c.get("/v2/nothere/tags/list").status_code == 404


@pytest.mark.parametrize("name", ["Hello", "a", "x/../y", "..", "a//b", "-a", "a-", "a" * 257,
                                  "a/.hidden", "../../etc"])
def test_invalid_names_are_name_invalid(lab, name):
    _, _, c = lab
    r = c.get(f"/v2/{name}/tags/list")
    assert r.status_code == 400 and code(r) == "NAME_INVALID"


def test_unknown_route_and_method(lab):
    _, _, c = lab
    assert c.get("/v2/hello-app/unknown").status_code == 404
    r = c.post("/v2/hello-app/tags/list")
    assert r.status_code == 405 and code(r) == "UNSUPPORTED"


def test_path_traversal_in_encoded_path_cannot_escape(lab, tmp_path):
    _, control, c = lab
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    for path in ["/v2/..%2F..%2Fsecret.txt/tags/list",
                 "/v2/hello-app/manifests/..%2F..%2F..%2Fsecret.txt",
                 "/v2/hello-app/blobs/sha256:..%2F..%2Fsecret.txt",
                 "/v2/hello-app/blobs/uploads/..%2F..%2Fsecret.txt",
                 "/_storage/blobs/sha256/..%2F..%2F..%2Fsecret.txt"]:
        r = c.get(path)
        assert r.status_code in (400, 403, 404), path
        assert b"no" != r.get_data()


# ---- blobs ----

def test_monolithic_push_then_head_and_redirected_get(lab):
    app, _, c = lab
    data = os.urandom(3000)
    digest = push_blob(c, "hello-app", data)
    h = c.head(f"/v2/hello-app/blobs/{digest}")
    assert h.status_code == 200
    assert h.headers["Content-Length"] == "3000" and h.headers["Docker-Content-Digest"] == digest
    g = c.get(f"/v2/hello-app/blobs/{digest}")
    assert g.status_code == 307
    loc = urlsplit(g.headers["Location"])
    assert loc.path == f"/_storage/blobs/sha256/{digest[7:]}"
    assert "X-Amz-Signature=" in loc.query and "X-Amz-Expires=1200" in loc.query
    s = c.get(f"{loc.path}?{loc.query}")
    assert s.status_code == 200 and s.get_data() == data
    assert "Docker-Distribution-API-Version" not in s.headers
    assert s.headers["Docker-Content-Digest"] == digest


def test_blob_not_in_this_repository_is_unknown(lab):
    _, _, c = lab
    digest = push_blob(c, "hello-app", b"only here")
    for method in (c.head, c.get):
        r = method(f"/v2/team/base/blobs/{digest}")
        assert r.status_code == 404
    assert code(c.get(f"/v2/team/base/blobs/{digest}")) == "BLOB_UNKNOWN"


def test_digest_mismatch_stores_nothing(lab):
    app, _, c = lab
    wrong = dg.of_bytes(b"something else")
    r = c.post(f"/v2/hello-app/blobs/uploads/?digest={wrong}", data=b"actual bytes")
    assert r.status_code == 400 and code(r) == "BLOB_UPLOAD_INVALID"  # ECR's code for it
    assert not app.storage.blob_path(wrong).exists()
    assert not app.storage.blob_path(dg.of_bytes(b"actual bytes")).exists()
    assert list((app.storage.root / "uploads").iterdir()) == []


@pytest.mark.parametrize("bad", ["sha256:abc", "md5:" + "a" * 32, "sha256:" + "A" * 64, "x"])
def test_malformed_digests_are_digest_invalid(lab, bad):
    _, _, c = lab
    r = c.post(f"/v2/hello-app/blobs/uploads/?digest={bad}", data=b"x")
    assert r.status_code == 400 and code(r) == "DIGEST_INVALID"
    assert code(c.get(f"/v2/hello-app/blobs/{bad}")) == "DIGEST_INVALID"
    assert c.head(f"/v2/hello-app/blobs/{bad}").status_code == 400


def test_blob_delete_is_unsupported_as_on_ecr(lab):
    """ECR refuses blob deletes (405 UNSUPPORTED, which the spec allows): a layer an image uses
    can never be unlinked under it."""
    _, _, c = lab
    digest = push_blob(c, "hello-app", b"to delete")
    r = c.delete(f"/v2/hello-app/blobs/{digest}")
    assert r.status_code == 405 and code(r) == "UNSUPPORTED"
    assert c.head(f"/v2/hello-app/blobs/{digest}").status_code == 200


def test_range_requests_on_storage_url(lab):
    _, _, c = lab
    data = bytes(range(256)) * 10
    digest = push_blob(c, "hello-app", data)
    loc = urlsplit(c.get(f"/v2/hello-app/blobs/{digest}").headers["Location"])
    url = f"{loc.path}?{loc.query}"
    r = c.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.get_data() == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    r = c.get(url, headers={"Range": "bytes=-5"})
    assert r.status_code == 206 and r.get_data() == data[-5:]
    r = c.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"


def test_direct_blob_serving_with_range_when_redirect_is_off(tmp_path):
    app, _ = make_app(tmp_path, {"hello-app": False}, redirect_blobs=False)
    c = Client(app)
    data = os.urandom(100)
    digest = push_blob(c, "hello-app", data)
    r = c.get(f"/v2/hello-app/blobs/{digest}")
    assert r.status_code == 200 and r.get_data() == data
    r = c.get(f"/v2/hello-app/blobs/{digest}", headers={"Range": "bytes=1-2"})
    assert r.status_code == 206 and r.get_data() == data[1:3]
    r = c.get(f"/v2/hello-app/blobs/{digest}", headers={"Range": "bytes=500-600"})
    assert r.status_code == 416 and code(r) == "RANGE_INVALID"


# ---- pre-signed storage URLs ----

def storage_url(c: Client, digest: str) -> tuple[str, dict[str, str]]:
    loc = urlsplit(c.get(f"/v2/hello-app/blobs/{digest}").headers["Location"])
    return loc.path, dict(p.split("=", 1) for p in loc.query.split("&"))


def test_presigned_url_expires(tmp_path):
    now = [1_700_000_000.0]
    app, _ = make_app(tmp_path, {"hello-app": False}, clock=lambda: now[0])
    c = Client(app)
    digest = push_blob(c, "hello-app", b"expiring")
    path, q = storage_url(c, digest)
    query = "&".join(f"{k}={v}" for k, v in q.items())
    now[0] += 1199
    assert c.get(f"{path}?{query}").status_code == 200
    now[0] += 2
    r = c.get(f"{path}?{query}")
    assert r.status_code == 403
    assert b"<Code>AccessDenied</Code>" in r.get_data()
    assert b"<Message>Request has expired</Message>" in r.get_data()


@pytest.mark.parametrize("tamper", ["signature", "expires", "date", "path", "missing"])
def test_tampered_presigned_url_is_refused(lab, tamper):
    _, _, c = lab
    digest = push_blob(c, "hello-app", b"secret layer")
    other = push_blob(c, "hello-app", b"other layer")
    path, q = storage_url(c, digest)
    if tamper == "signature":
        q["X-Amz-Signature"] = ("A" if q["X-Amz-Signature"][0] != "A" else "B") + \
            q["X-Amz-Signature"][1:]
    elif tamper == "expires":
        q["X-Amz-Expires"] = "604800"
    elif tamper == "date":
        q["X-Amz-Date"] = "20991231T000000Z"
    elif tamper == "path":
        path = f"/_storage/blobs/sha256/{other[7:]}"
    else:
        del q["X-Amz-Signature"]
    r = c.get(path + "?" + "&".join(f"{k}={v}" for k, v in q.items()))
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("application/xml")
    assert b"secret layer" not in r.get_data()


def test_public_url_names_the_redirect_host(tmp_path):
    app, _ = make_app(tmp_path, {"hello-app": False},
                      public_url=lambda environ: "http://lab.example:5400")
    c = Client(app)
    digest = push_blob(c, "hello-app", b"x")
    assert c.get(f"/v2/hello-app/blobs/{digest}").headers["Location"].startswith(
        "http://lab.example:5400/_storage/blobs/sha256/")


# ---- chunked uploads ----

def test_chunked_upload_with_content_range_and_status(lab):
    app, _, c = lab
    data = os.urandom(5000)
    r = c.post("/v2/hello-app/blobs/uploads/")
    assert r.status_code == 202
    loc = urlsplit(r.headers["Location"]).path
    uid = r.headers["Docker-Upload-UUID"]
    assert loc.endswith(uid) and r.headers["Range"] == "0-0"
    r = c.patch(loc, data=data[:2000], headers={"Content-Range": "0-1999"})
    assert r.status_code == 202 and r.headers["Range"] == "0-1999"
    # out of order: 416 with the current state
    r = c.patch(loc, data=data[3000:], headers={"Content-Range": "3000-4999"})
    assert r.status_code == 416 and code(r) == "BLOB_UPLOAD_INVALID"
    assert message(r) == "First byte of the layer part is 3000 instead of 2000"
    assert r.headers["Range"] == "0-1999"
    # Content-Range that disagrees with Content-Length
    r = c.patch(loc, data=data[2000:3000], headers={"Content-Range": "2000-2500"})
    assert r.status_code == 416 and code(r) == "BLOB_UPLOAD_INVALID"
    assert r.headers["Range"] == "0-1999"
    r = c.patch(loc, data=data[2000:4000])  # streamed, no Content-Range
    assert r.status_code == 202 and r.headers["Range"] == "0-3999"
    r = c.get(loc)
    assert r.status_code == 204 and r.headers["Range"] == "0-3999"
    digest = dg.of_bytes(data)
    r = c.put(f"{loc}?digest={digest}", data=data[4000:],
              headers={"Content-Range": "4000-4999"})
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest
    assert urlsplit(r.headers["Location"]).path == f"/v2/hello-app/blobs/{digest}"
    assert app.storage.blob_path(digest).read_bytes() == data
    assert c.get(loc).status_code == 404  # the session is gone


def test_upload_put_with_wrong_digest_cancels_and_stores_nothing(lab):
    app, _, c = lab
    loc = urlsplit(c.post("/v2/hello-app/blobs/uploads/").headers["Location"]).path
    c.patch(loc, data=b"abc")
    wrong = dg.of_bytes(b"abd")
    r = c.put(f"{loc}?digest={wrong}")
    assert r.status_code == 400 and code(r) == "BLOB_UPLOAD_INVALID"
    assert not app.storage.blob_path(wrong).exists()
    assert not app.storage.blob_path(dg.of_bytes(b"abc")).exists()
    r = c.put(f"{loc}?digest={dg.of_bytes(b'abc')}")
    assert r.status_code == 404 and code(r) == "BLOB_UPLOAD_UNKNOWN"


def test_upload_put_without_digest(lab):
    _, _, c = lab
    loc = urlsplit(c.post("/v2/hello-app/blobs/uploads/").headers["Location"]).path
    r = c.put(loc)
    assert r.status_code == 400 and code(r) == "DIGEST_INVALID"


def test_unknown_and_foreign_uploads(lab):
    _, _, c = lab
    for path in ["/v2/hello-app/blobs/uploads/00000000-0000-4000-8000-000000000000",
                 "/v2/hello-app/blobs/uploads/not-a-uuid"]:
        for method in (c.get, c.patch, c.delete):
            r = method(path)
            assert r.status_code == 404 and code(r) == "BLOB_UPLOAD_UNKNOWN"
    loc = urlsplit(c.post("/v2/hello-app/blobs/uploads/").headers["Location"]).path
    # the same upload id under another repository is unknown there
    other = loc.replace("/v2/hello-app/", "/v2/team/base/")
    assert code(c.get(other)) == "BLOB_UPLOAD_UNKNOWN"


def test_cancel_upload(lab):
    app, _, c = lab
    loc = urlsplit(c.post("/v2/hello-app/blobs/uploads/").headers["Location"]).path
    c.patch(loc, data=b"partial")
    assert c.delete(loc).status_code == 204
    assert c.get(loc).status_code == 404
    assert list((app.storage.root / "uploads").iterdir()) == []


def test_short_body_is_rolled_back(lab):
    app, _, c = lab
    loc = urlsplit(c.post("/v2/hello-app/blobs/uploads/").headers["Location"]).path
    c.patch(loc, data=b"12345")
    # Content-Length promises 100 bytes, only 3 arrive
    r = c.patch(loc, input_stream=io.BytesIO(b"678"),
                environ_overrides={"CONTENT_LENGTH": "100"})
    assert r.status_code == 400 and code(r) == "SIZE_INVALID"
    assert c.get(loc).headers["Range"] == "0-4"
    r = c.put(f"{loc}?digest={dg.of_bytes(b'12345')}")
    assert r.status_code == 201


# ---- mount ----

def test_cross_repository_mount(lab):
    """Once the account allows it (ECR's BLOB_MOUNTING, DISABLED by default), a mount is a 201."""
    _, control, c = lab
    control.call("PutAccountSetting", {"name": "BLOB_MOUNTING", "value": "ENABLED"})
    digest = push_blob(c, "team/base", b"shared base layer")
    r = c.post(f"/v2/hello-app/blobs/uploads/?mount={digest}&from=team/base")
    assert r.status_code == 201
    assert r.headers["Docker-Content-Digest"] == digest
    assert urlsplit(r.headers["Location"]).path == f"/v2/hello-app/blobs/{digest}"
    assert c.head(f"/v2/hello-app/blobs/{digest}").status_code == 200


@pytest.mark.parametrize("source", ["frozen", "nothere", "Bad..Name", None])
def test_mount_falls_back_to_an_upload_session(lab, source):
    _, _, c = lab
    digest = push_blob(c, "team/base", b"not in the source")
    q = f"mount={digest}" + (f"&from={source}" if source else "")
    r = c.post(f"/v2/hello-app/blobs/uploads/?{q}")
    assert r.status_code == 202 and "Docker-Upload-UUID" in r.headers
    assert c.head(f"/v2/hello-app/blobs/{digest}").status_code == 404


def test_no_mount_while_the_control_plane_says_blob_mounting_is_off(lab):
    """ECR's BLOB_MOUNTING account setting (DISABLED by default): the mount request becomes a
    plain upload session, as the spec's fallback has it."""
    _, control, c = lab
    digest = push_blob(c, "team/base", b"shared base layer, not mounted")
    control.call("PutAccountSetting", {"name": "BLOB_MOUNTING", "value": "DISABLED"})
    r = c.post(f"/v2/hello-app/blobs/uploads/?mount={digest}&from=team/base")
    assert r.status_code == 202 and "Docker-Upload-UUID" in r.headers
    assert c.head(f"/v2/hello-app/blobs/{digest}").status_code == 404


# ---- manifests ----

def test_manifest_put_get_head_by_tag_and_digest(lab):
    _, control, c = lab
    raw = image(c, "hello-app")
    digest = dg.of_bytes(raw)
    r = put_manifest(c, "hello-app", "1.0", raw)
    assert r.status_code == 201 and r.headers["Docker-Content-Digest"] == digest
    assert urlsplit(r.headers["Location"]).path == f"/v2/hello-app/manifests/{digest}"
    for ref in ("1.0", digest):
        g = c.get(f"/v2/hello-app/manifests/{ref}", headers={"Accept": mt.ACCEPT_ALL})
        assert g.status_code == 200 and g.get_data() == raw
        assert g.headers["Content-Type"] == mt.OCI_MANIFEST
        assert g.headers["Docker-Content-Digest"] == digest
        h = c.head(f"/v2/hello-app/manifests/{ref}")
        assert h.status_code == 200 and h.headers["Content-Length"] == str(len(raw))
        assert h.get_data() == b""
    assert image_tags(control, "hello-app") == {digest: ["1.0"]}  # the ECR API sees the push
    # a manifest is a blob of its repository too
    assert c.head(f"/v2/hello-app/blobs/{digest}").status_code == 200


def test_docker_schema2_manifest(lab):
    _, _, c = lab
    raw = image(c, "hello-app", media_type=mt.DOCKER_MANIFEST)
    assert put_manifest(c, "hello-app", "v2", raw, mt.DOCKER_MANIFEST).status_code == 201
    g = c.get("/v2/hello-app/manifests/v2", headers={"Accept": mt.DOCKER_MANIFEST})
    assert g.headers["Content-Type"] == mt.DOCKER_MANIFEST and g.get_data() == raw


def test_accept_excluding_the_stored_type_is_translated_by_tag_only(lab):
    """ECR's user guide: by tag, OCI asked for as schema 2 is translated (and back); by digest
    there is no translation."""
    _, _, c = lab
    raw = image(c, "hello-app")
    put_manifest(c, "hello-app", "oci", raw)
    r = c.get("/v2/hello-app/manifests/oci", headers={"Accept": mt.DOCKER_MANIFEST})
    assert r.status_code == 200 and r.headers["Content-Type"] == mt.DOCKER_MANIFEST
    served = r.get_data()
    assert r.headers["Docker-Content-Digest"] == dg.of_bytes(served) != dg.of_bytes(raw)
    doc, stored = json.loads(served), json.loads(raw)
    assert doc["config"]["mediaType"] == mt.DOCKER_CONFIG
    assert [x["mediaType"] for x in doc["layers"]] == [mt.DOCKER_LAYER]
    assert [x["digest"] for x in doc["layers"]] == [x["digest"] for x in stored["layers"]]
    again = c.get("/v2/hello-app/manifests/oci", headers={"Accept": mt.DOCKER_MANIFEST})
    assert again.get_data() == served  # the same bytes every time: the same digest
    r = c.get(f"/v2/hello-app/manifests/{dg.of_bytes(raw)}",
              headers={"Accept": mt.DOCKER_MANIFEST})
    assert r.status_code == 404 and code(r) == "MANIFEST_UNKNOWN"
    assert message(r) == "Requested image not found"
    # no Accept, or a wildcard, gets the stored type
    assert c.get("/v2/hello-app/manifests/oci").status_code == 200
    assert c.get("/v2/hello-app/manifests/oci", headers={"Accept": "*/*"}).status_code == 200


def index_of(c: Client, name: str, children: list[bytes], media_type: str = mt.OCI_INDEX,
             platforms=None) -> bytes:
    platforms = platforms or [{"os": "linux", "architecture": "amd64"},
                              {"os": "linux", "architecture": "arm64"}]
    entries = [{"mediaType": mt.OCI_MANIFEST, "digest": dg.of_bytes(raw), "size": len(raw),
                "platform": p} for raw, p in zip(children, platforms, strict=False)]
    return mf.canonical_json({"schemaVersion": 2, "mediaType": media_type,
                              "manifests": entries})


def test_index_push_and_fallback_to_the_amd64_image(lab):
    _, _, c = lab
    amd = image(c, "hello-app", b"amd64 layer")
    arm = image(c, "hello-app", b"arm64 layer")
    index = index_of(c, "hello-app", [amd, arm])
    r = put_manifest(c, "hello-app", "multi", index, mt.OCI_INDEX)
    assert r.status_code == 400 and code(r) == "MANIFEST_BLOB_UNKNOWN"  # children not pushed
    for raw in (amd, arm):
        assert put_manifest(c, "hello-app", dg.of_bytes(raw), raw).status_code == 201
    assert put_manifest(c, "hello-app", "multi", index, mt.OCI_INDEX).status_code == 201
    g = c.get("/v2/hello-app/manifests/multi", headers={"Accept": mt.ACCEPT_ALL})
    assert g.headers["Content-Type"] == mt.OCI_INDEX and g.get_data() == index
    g = c.get("/v2/hello-app/manifests/multi", headers={"Accept": mt.OCI_MANIFEST})
    assert g.status_code == 200 and g.get_data() == amd
    assert g.headers["Docker-Content-Digest"] == dg.of_bytes(amd)


def test_manifest_naming_a_missing_blob(lab):
    _, _, c = lab
    raw = image(c, "hello-app")
    doc = json.loads(raw)
    doc["layers"][0]["digest"] = dg.of_bytes(b"never pushed")
    r = put_manifest(c, "hello-app", "broken", mf.canonical_json(doc))
    assert r.status_code == 400 and code(r) == "BLOB_UPLOAD_UNKNOWN"  # ECR's code, not the spec's
    assert message(r).startswith("Layers with digests '[sha256:")
    assert c.get("/v2/hello-app/manifests/broken").status_code == 404


def test_manifest_naming_a_blob_of_another_repository(lab):
    _, _, c = lab
    raw = image(c, "team/base")
    r = put_manifest(c, "hello-app", "stolen", raw)
    assert r.status_code == 400 and code(r) == "BLOB_UPLOAD_UNKNOWN"


@pytest.mark.parametrize("body,ctype", [
    (b"not json", mt.OCI_MANIFEST),
    (b"[]", mt.OCI_MANIFEST),
    (b'{"schemaVersion": 1}', mt.OCI_MANIFEST),
    (b"[" * 100_000 + b"]" * 100_000, mt.OCI_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "application/x-unknown", "layers": []}',
     "application/x-unknown"),
    (b'{"schemaVersion": 2, "mediaType": "' + mt.OCI_MANIFEST.encode() + b'", "layers": []}',
     mt.DOCKER_MANIFEST),
])
def test_malformed_manifests_are_refused_as_ecr_does(lab, body, ctype):
    """ECR's /v2/ answer to a manifest it cannot read: UNSUPPORTED 'Invalid JSON syntax' (the
    lab's reason in `detail`); nothing is stored."""
    _, _, c = lab
    r = put_manifest(c, "hello-app", "bad", body, ctype)
    assert r.status_code == 400 and code(r) == "UNSUPPORTED"
    assert message(r) == ("Invalid parameter at 'ImageManifest' failed to satisfy constraint: "
                          "'Invalid JSON syntax'")
    assert json.loads(r.get_data())["errors"][0]["detail"]["reason"]
    assert c.get("/v2/hello-app/manifests/bad").status_code == 404


def test_a_manifest_without_its_media_type_is_refused_whatever_the_content_type(lab):
    """containers/image#584: ECR needs the top-level mediaType in the document."""
    _, _, c = lab
    doc = json.loads(image(c, "hello-app"))
    del doc["mediaType"]
    r = put_manifest(c, "hello-app", "bare", mf.canonical_json(doc), mt.OCI_MANIFEST)
    assert r.status_code == 400 and code(r) == "UNSUPPORTED"
    assert "mediaType" in json.loads(r.get_data())["errors"][0]["detail"]["reason"]


def test_oversized_manifest_is_refused(lab):
    _, _, c = lab
    raw = image(c, "hello-app")
    doc = json.loads(raw)
    doc["annotations"] = {"padding": "x" * (mf.MAX_MANIFEST_BYTES + 10)}
    r = put_manifest(c, "hello-app", "huge", mf.canonical_json(doc))
    assert r.status_code == 400 and code(r) == "UNSUPPORTED"
    assert c.get("/v2/hello-app/manifests/huge").status_code == 404


def test_manifest_put_by_wrong_digest(lab):
    _, _, c = lab
    raw = image(c, "hello-app")
    r = put_manifest(c, "hello-app", dg.of_bytes(b"other"), raw)
    assert r.status_code == 400 and code(r) == "MANIFEST_INVALID"  # ECR's code and sentence
    assert message(r).startswith(f"The image with digest '{dg.of_bytes(b'other')}' in ")


def test_invalid_tag_on_put(lab):
    _, _, c = lab
    raw = image(c, "hello-app")
    r = put_manifest(c, "hello-app", ".hidden", raw)
    assert r.status_code == 400 and code(r) == "TAG_INVALID"
    r = put_manifest(c, "hello-app", "t" * 129, raw)
    assert r.status_code == 400 and code(r) == "TAG_INVALID"


def test_immutable_repository_refuses_to_overwrite_a_tag(lab):
    _, control, c = lab
    first = image(c, "frozen", b"v1")
    assert put_manifest(c, "frozen", "1.0", first).status_code == 201
    second = image(c, "frozen", b"v2")
    r = put_manifest(c, "frozen", "1.0", second)
    assert r.status_code == 400 and code(r) == "TAG_INVALID"
    assert message(r) == ("The image tag '1.0' already exists in the 'frozen' repository and "
                          "cannot be overwritten because the repository is immutable.")
    # ECR refuses the identical digest too (see handlers.manifest_put)
    assert code(put_manifest(c, "frozen", "1.0", first)) == "TAG_INVALID"
    assert c.get("/v2/frozen/manifests/1.0").get_data() == first
    # new tags and pushes by digest are fine
    assert put_manifest(c, "frozen", "2.0", second).status_code == 201
    assert put_manifest(c, "frozen", dg.of_bytes(second), second).status_code == 201


def test_mutable_repository_moves_a_tag(lab):
    _, control, c = lab
    first, second = image(c, "hello-app", b"v1"), image(c, "hello-app", b"v2")
    put_manifest(c, "hello-app", "latest", first)
    put_manifest(c, "hello-app", "latest", second)
    assert c.get("/v2/hello-app/manifests/latest").get_data() == second
    # DescribeImages: the tag moved, the first image stays (untagged), as on ECR
    assert image_tags(control, "hello-app") == {dg.of_bytes(first): [],
                                                dg.of_bytes(second): ["latest"]}
    assert c.get(f"/v2/hello-app/manifests/{dg.of_bytes(first)}").status_code == 200


def test_manifest_delete_by_digest_and_tag(lab):
    app, _, c = lab
    raw = image(c, "hello-app")
    digest = dg.of_bytes(raw)
    put_manifest(c, "hello-app", "a", raw)
    put_manifest(c, "hello-app", "b", raw)
    assert c.delete("/v2/hello-app/manifests/a").status_code == 202
    assert c.get("/v2/hello-app/manifests/a").status_code == 404
    assert app.storage.tags("hello-app") == ["b"]  # the one store: nothing else to update
    assert c.delete(f"/v2/hello-app/manifests/{digest}").status_code == 202
    assert c.get("/v2/hello-app/manifests/b").status_code == 404
    assert app.storage.get_manifest("hello-app", digest) is None
    r = c.delete(f"/v2/hello-app/manifests/{digest}")
    assert r.status_code == 404 and code(r) == "MANIFEST_UNKNOWN"
    assert code(c.delete("/v2/hello-app/manifests/nope")) == "MANIFEST_UNKNOWN"


def test_unknown_manifest(lab):
    _, _, c = lab
    r = c.get("/v2/hello-app/manifests/latest")
    assert r.status_code == 404 and code(r) == "MANIFEST_UNKNOWN"
    assert message(r) == "Requested image not found"
    assert c.head("/v2/hello-app/manifests/latest").status_code == 404
    assert code(c.get("/v2/hello-app/manifests/sha256:xyz")) == "DIGEST_INVALID"


def test_referrers(lab):
    _, _, c = lab
    subject = image(c, "hello-app")
    sd = dg.of_bytes(subject)
    put_manifest(c, "hello-app", "1.0", subject)
    empty = push_blob(c, "hello-app", b"{}")
    sig = mf.canonical_json({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
        "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": mt.OCI_EMPTY, "digest": empty, "size": 2},
        "layers": [{"mediaType": mt.OCI_EMPTY, "digest": empty, "size": 2}],
        "subject": {"mediaType": mt.OCI_MANIFEST, "digest": sd, "size": len(subject)},
        "annotations": {"k": "v"}})
    r = put_manifest(c, "hello-app", dg.of_bytes(sig), sig)
    assert r.status_code == 201 and r.headers["OCI-Subject"] == sd
    got = c.get(f"/v2/hello-app/referrers/{sd}").get_json()
    assert got["mediaType"] == mt.OCI_INDEX
    assert [m["digest"] for m in got["manifests"]] == [dg.of_bytes(sig)]
    assert got["manifests"][0]["artifactType"] == "application/vnd.example.sig"
    r = c.get(f"/v2/hello-app/referrers/{sd}?artifactType=application/other")
    assert r.get_json()["manifests"] == [] and r.headers["OCI-Filters-Applied"] == "artifactType"
    assert c.get(f"/v2/hello-app/referrers/{dg.of_bytes(b'x')}").get_json()["manifests"] == []


# ---- listings ----

def test_tags_list_pagination(lab):
    _, _, c = lab
    raw = image(c, "hello-app")
    tags = ["1.0", "1.1", "2.0", "latest", "v3"]
    for t in tags:
        put_manifest(c, "hello-app", t, raw)
    assert c.get("/v2/hello-app/tags/list").get_json() == {"name": "hello-app", "tags": tags}
    r = c.get("/v2/hello-app/tags/list?n=2")
    assert r.get_json()["tags"] == ["1.0", "1.1"]
    assert r.headers["Link"] == '</v2/hello-app/tags/list?n=2&last=1.1>; rel="next"'
    r = c.get("/v2/hello-app/tags/list?n=2&last=1.1")
    assert r.get_json()["tags"] == ["2.0", "latest"]
    r = c.get("/v2/hello-app/tags/list?n=2&last=latest")
    assert r.get_json()["tags"] == ["v3"] and "Link" not in r.headers
    assert c.get("/v2/hello-app/tags/list?n=0").get_json()["tags"] == []
    r = c.get("/v2/hello-app/tags/list?n=-1")
    assert r.status_code == 400 and code(r) == "PAGINATION_NUMBER_INVALID"
    assert c.get("/v2/team/base/tags/list").get_json() == {"name": "team/base", "tags": []}


def test_catalog_pagination(lab):
    _, control, c = lab
    for name in ("hello-app", "team/base", "frozen"):
        push_blob(c, name, b"x")
    push_blob(c, "hello-app", b"y")
    assert c.get("/v2/_catalog").get_json() == {
        "repositories": ["frozen", "hello-app", "team/base"]}
    r = c.get("/v2/_catalog?n=1")
    assert r.get_json() == {"repositories": ["frozen"]}
    assert r.headers["Link"] == '</v2/_catalog?n=1&last=frozen>; rel="next"'
    assert c.get("/v2/_catalog?n=5&last=frozen").get_json()["repositories"] == [
        "hello-app", "team/base"]
    control.call("DeleteRepository", {"repositoryName": "frozen", "force": True})  # the ECR API's delete
    assert "frozen" not in c.get("/v2/_catalog").get_json()["repositories"]


# ---- last resort ----

def test_unexpected_exception_is_a_spec_shaped_500(lab, caplog, monkeypatch):
    app, control, c = lab

    def boom(name):
        raise RuntimeError("control plane exploded")

    monkeypatch.setattr(control, "repository_exists", boom)  # our own class: a fault injected
    r = c.get("/v2/hello-app/tags/list")
    assert r.status_code == 500 and code(r) == "UNKNOWN"
    assert b"exploded" not in r.get_data()
    assert "control plane exploded" in caplog.text


SEGMENTS = st.sampled_from(["v2", "hello-app", "team", "base", "blobs", "uploads", "manifests",
                            "tags", "list", "_catalog", "referrers", "_storage", "sha256",
                            "..", ".", "%2F", "%2e%2e", "latest", "sha256:" + "a" * 64,
                            "00000000-0000-4000-8000-000000000000", "", "A", "x" * 300])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]),
       parts=st.lists(SEGMENTS, min_size=1, max_size=7),
       query=st.sampled_from(["", "digest=sha256:zz", "mount=x&from=..", "n=x", "n=1&last=~",
                              "digest=" + "sha256:" + "b" * 64, "X-Amz-Date=1&X-Amz-Expires=x"]),
       body=st.binary(max_size=64))
def test_no_request_makes_a_500_or_escapes(lab, method, parts, query, body):
    app, _, c = lab
    path = "/" + "/".join(parts)
    # PATH_INFO set directly: the test client would read a leading "//" as a host name
    r = c.open("/", method=method, query_string=query, data=body,
               environ_overrides={"PATH_INFO": path},
               headers={"Content-Range": "0-9", "Range": "bytes=5-1"})
    assert r.status_code < 500, (method, path, query, r.get_data()[:200])
    for p in app.storage.root.rglob("*"):
        assert app.storage.root.resolve() in p.resolve().parents
