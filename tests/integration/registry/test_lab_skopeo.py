"""skopeo, a registry client we did not write, copies images into and out of the lab."""

from __future__ import annotations

import json
import subprocess

import requests

from labkit.course import sample
from labkit.engines.builtin import BuiltinEngine
from tests.conftest import registry_credentials, unique


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"skopeo {args[0]} failed:\n{r.stderr}"  # args hold the password
    return r


def test_skopeo_copies_out_of_and_into_the_lab_with_ecr_credentials(
        lab, ecr_client, tmp_path, require_skopeo) -> None:
    creds = ":".join(registry_credentials(ecr_client))
    name, copy = unique("skopeo/hello"), unique("skopeo/copy")
    ecr_client.create_repository(repositoryName=name)
    ecr_client.create_repository(repositoryName=copy)
    engine = BuiltinEngine(home=tmp_path / "engine")
    sample.ensure_base(engine)
    engine.build(sample.context(1), f"{lab.registry}/{name}:1.0")
    engine.login(lab.registry, "AWS", creds.split(":", 1)[1])
    pushed = engine.push(f"{lab.registry}/{name}:1.0", progress=False)

    src = f"docker://{lab.registry}/{name}:1.0"
    inspect = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", creds, src).stdout)
    assert inspect["Digest"] == pushed.digest
    assert ecr_client.describe_images(repositoryName=name)["imageDetails"][0]["imageDigest"] \
        == pushed.digest

    # without credentials skopeo gets the lab's 401 (--no-creds: the engine's login above is in
    # the docker config, which skopeo would otherwise read, as docker does)
    r = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--no-creds", src],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "unauthorized" in r.stderr.lower()

    # out of the lab into an OCI layout (skopeo checks every digest), then back into another repo
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, src, f"oci:{out}:copy")
    assert len(json.loads((out / "index.json").read_text())["manifests"]) == 1
    dest = f"docker://{lab.registry}/{copy}:from-oci"
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{out}:copy", dest)
    again = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", creds, dest).stdout)
    described = ecr_client.describe_images(repositoryName=copy)["imageDetails"][0]
    assert described["imageDigest"] == again["Digest"] and described["imageTags"] == ["from-oci"]
    assert again["Layers"] and len(again["Layers"]) == len(inspect["Layers"])


def test_blob_download_redirects_to_presigned_storage(lab, ecr_client) -> None:
    """ECR answers a layer GET with a redirect to S3; the lab redirects to its own storage URL."""
    import hashlib

    name = unique("presigned")
    ecr_client.create_repository(repositoryName=name)
    auth = registry_credentials(ecr_client)
    data = b"presigned layer bytes" * 100
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    base = f"{lab.endpoint_url}/v2/{name}"
    assert requests.post(f"{base}/blobs/uploads/", params={"digest": digest}, data=data,
                         auth=auth, timeout=10).status_code == 201
    r = requests.get(f"{base}/blobs/{digest}", auth=auth, allow_redirects=False, timeout=10)
    assert r.status_code == 307
    url = r.headers["Location"]
    assert url.startswith(f"{lab.endpoint_url}/_storage/") and "X-Amz-Signature=" in url
    got = requests.get(url, timeout=10)  # no registry credentials needed
    assert got.status_code == 200 and got.content == data
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == data[10:20]
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=x")
    assert requests.get(tampered, timeout=10).status_code == 403
    other = url.replace(digest.split(":")[1], hashlib.sha256(b"other").hexdigest())
    assert requests.get(other, timeout=10).status_code == 403
