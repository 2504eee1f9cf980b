"""The lab's trace counts every byte of a blob upload, whichever way the body is read.

Blob bodies are read with `readinto` straight into the registry's buffers (no per-chunk copy);
these checks keep the trace's byte counts honest on that fast path, for a monolithic PUT with
Content-Length and for a chunked (Transfer-Encoding) PATCH as docker and skopeo send.
"""

from __future__ import annotations

import base64
import hashlib
import os

import requests

from labkit.trace.record import TraceRecord
from tests.conftest import unique

SIZE = 3 * (1 << 20) + 12345  # several of the registry's 1 MiB buffers, and a ragged end


def _auth(ecr_client: object) -> dict[str, str]:
    data = ecr_client.get_authorization_token()["authorizationData"][0]  # type: ignore[attr-defined]
    return {"Authorization": "Basic " + data["authorizationToken"]}


def _session(lab: object, repo: str, auth: dict[str, str]) -> str:
    r = requests.post(f"{lab.endpoint_url}/v2/{repo}/blobs/uploads/",  # type: ignore[attr-defined]
                      headers=auth, timeout=30)
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    return loc if "://" in loc else lab.endpoint_url + loc  # type: ignore[attr-defined]


def _trace_for(lab: object, mark: int, method: str) -> TraceRecord:
    entries = [e for e in lab.trace(since=mark)  # type: ignore[attr-defined]
               if e.method == method and e.route == "upload"]
    assert len(entries) == 1, entries
    return entries[0]


def test_monolithic_put_is_counted(lab: object, ecr_client: object) -> None:
    repo = unique("trace-put")
    ecr_client.create_repository(repositoryName=repo)  # type: ignore[attr-defined]
    auth = _auth(ecr_client)
    body = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    url = _session(lab, repo, auth)
    mark = lab.trace_mark()  # type: ignore[attr-defined]
    r = requests.put(f"{url}{'&' if '?' in url else '?'}digest={digest}", data=body,
                     headers=auth, timeout=60)
    assert r.status_code == 201, r.text
    assert _trace_for(lab, mark, "PUT").bytes_in == SIZE
    got = requests.get(f"{lab.endpoint_url}/v2/{repo}/blobs/{digest}",  # type: ignore[attr-defined]
                       headers=auth, timeout=60)
    assert got.status_code == 200 and got.content == body


def test_chunked_patch_is_counted(lab: object, ecr_client: object) -> None:
    repo = unique("trace-patch")
    ecr_client.create_repository(repositoryName=repo)  # type: ignore[attr-defined]
    auth = _auth(ecr_client)
    body = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    url = _session(lab, repo, auth)
    mark = lab.trace_mark()  # type: ignore[attr-defined]
    pieces = (body[i:i + 40000] for i in range(0, SIZE, 40000))  # a generator: sent chunked
    r = requests.patch(url, data=pieces, headers=auth, timeout=60)
    assert r.status_code == 202, r.text
    assert r.headers["Range"] == f"0-{SIZE - 1}"
    assert _trace_for(lab, mark, "PATCH").bytes_in == SIZE
    loc = r.headers["Location"]
    loc = loc if "://" in loc else lab.endpoint_url + loc  # type: ignore[attr-defined]
    done = requests.put(f"{loc}{'&' if '?' in loc else '?'}digest={digest}", headers=auth,
                        timeout=60)
    assert done.status_code == 201, done.text
    # the token is not echoed anywhere in the trace
    token = base64.b64decode(auth["Authorization"].split()[1]).decode().split(":", 1)[1]
    assert token not in str(lab.trace(since=mark))  # type: ignore[attr-defined]
