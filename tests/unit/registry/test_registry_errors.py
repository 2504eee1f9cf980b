"""Every spec error code: its status and the spec's JSON body."""

from __future__ import annotations

import json

import pytest

from labkit.lab.registry import errors
from tests.fixtures.ecr_messages import assert_ecr_message, entry

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


def test_ecrs_sentences_are_the_recorded_ones():
    """Checked against the fixture of recorded ECR answers (with their sources), not against
    the lab's own constants."""
    digest = "sha256:" + "a" * 64
    assert_ecr_message("registry.name-unknown",
                       errors.NameUnknown.for_repo("hello-app", "1").message,
                       repository="hello-app", registry_id="1")
    assert_ecr_message("registry.tag-invalid-immutable",
                       errors.TagInvalid.immutable("1.0", "hello-app").message,
                       tag="1.0", repository="hello-app")
    layers = errors.LayersMissing([digest], "app", "1")
    assert layers.code == entry("registry.missing-layers").code
    assert_ecr_message("registry.missing-layers", layers.message, digests=digest,
                       repository="app", registry_id="1")
    images = errors.ManifestBlobUnknown.images_missing([digest], "app", "1")
    assert images.code == entry("registry.index-missing-images").code
    assert_ecr_message("registry.index-missing-images", images.message, digests=digest,
                       repository="app", registry_id="1")
    mismatch = errors.ManifestInvalid.digest_mismatch(digest, "sha256:" + "b" * 64, "app", "1")
    assert_ecr_message("registry.manifest-digest-mismatch", mismatch.message, digest=digest,
                       repository="app", registry_id="1")
    assert_ecr_message("registry.manifest-invalid-json",
                       errors.ManifestNotReadable("no mediaType").message)
    assert_ecr_message("registry.blob-upload-digest-mismatch",
                       errors.UploadDigestMismatch(digest, "sha256:" + "c" * 64).message)
    out_of_order = errors.ChunkOutOfOrder(10, 5)
    assert (out_of_order.code, out_of_order.status) == ("BLOB_UPLOAD_INVALID", 416)
    assert_ecr_message("registry.blob-upload-out-of-order", out_of_order.message,
                       first_byte=10, expected_byte=5)
    assert_ecr_message("registry.manifest-unknown", errors.ManifestUnknown().message)
    assert_ecr_message("registry.name-invalid", errors.NameInvalid().message)
