"""Every spec error code: its status and the spec's JSON body."""

from __future__ import annotations

import json

import pytest

from labkit.lab.registry import errors

EXPECTED = {
    "BLOB_UNKNOWN": 404, "BLOB_UPLOAD_INVALID": 400, "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400, "MANIFEST_BLOB_UNKNOWN": 400, "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404, "NAME_INVALID": 400, "NAME_UNKNOWN": 404, "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401, "DENIED": 403, "UNSUPPORTED": 405, "TOOMANYREQUESTS": 429,
    "TAG_INVALID": 400, "RANGE_INVALID": 416, "UNKNOWN": 500,
}


def test_one_class_per_code_with_its_status():
    pairs = [(cls.code, cls.status) for cls in errors.ALL]
    # UNKNOWN comes twice: the last-resort 500 and the full disk's 507
    assert sorted(pairs) == sorted([*EXPECTED.items(), ("UNKNOWN", 507)])


@pytest.mark.parametrize("cls", errors.ALL, ids=lambda c: c.code)
def test_body_is_the_spec_json(cls):
    e = cls(detail={"k": "v"})
    body = json.loads(e.body())
    assert body == {"errors": [{"code": cls.code, "message": cls.default_message,
                                "detail": {"k": "v"}}]}
    assert "detail" not in json.loads(cls().body())["errors"][0]


def test_ecr_messages():
    assert errors.NameUnknown.for_repo("hello-app", "123456789012").message == (
        "The repository with name 'hello-app' does not exist in the registry with id "
        "'123456789012'")
    assert errors.TagInvalid.immutable("1.0", "hello-app").message == (
        "The image tag '1.0' already exists in the 'hello-app' repository and cannot be "
        "overwritten because the repository is immutable.")
    missing = errors.ManifestBlobUnknown.missing(["sha256:" + "a" * 64], "app", "1")
    assert missing.message == (f"Layers with digests '[sha256:{'a' * 64}]' required for pushing "
                               "image into repository with name 'app' in the registry with id "
                               "'1' do not exist")
    assert errors.ManifestUnknown().message == "Requested image not found"
