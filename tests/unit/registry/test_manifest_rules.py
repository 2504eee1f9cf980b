"""ECR's manifest rules on their own: what a push may store, what a pull is served (translation
between Docker schema 2 and OCI by tag, never by digest), and the one referrers list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.lab.registry.manifest_rules import read_pushed, serve_as
from labkit.lab.registry.referrers import referrers
from labkit.lab.registry.storage import Storage
from labkit.oci import convert
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt

CONFIG = b'{"os":"linux","architecture":"amd64"}'


def docker_manifest(layer: bytes = b"layer") -> bytes:
    return mf.build(mf.Descriptor(mt.DOCKER_CONFIG, dg.of_bytes(CONFIG), len(CONFIG)),
                    [mf.Descriptor(mt.DOCKER_LAYER, dg.of_bytes(layer), len(layer))],
                    mt.DOCKER_MANIFEST)


def test_a_pushed_manifest_must_name_its_media_type() -> None:
    doc = json.loads(docker_manifest())
    del doc["mediaType"]
    bare = json.dumps(doc).encode()
    with pytest.raises(mf.ManifestError, match="no top-level mediaType"):
        read_pushed(bare, mt.DOCKER_MANIFEST)  # a Content-Type does not stand in for it
    assert read_pushed(bare, given=mt.DOCKER_MANIFEST).media_type == mt.DOCKER_MANIFEST
    for bad in (b"{not json", b"[" * 100_000 + b"]" * 100_000, b'{"mediaType": 5}'):
        with pytest.raises(mf.ManifestError):
            read_pushed(bad)


def test_translation_keeps_the_blobs_and_round_trips() -> None:
    raw = docker_manifest()
    oci = convert.translate(raw, mt.DOCKER_MANIFEST, mt.OCI_MANIFEST)
    assert oci is not None
    doc = json.loads(oci)
    assert (doc["mediaType"], doc["config"]["mediaType"], doc["layers"][0]["mediaType"]) == (
        mt.OCI_MANIFEST, mt.OCI_CONFIG, mt.OCI_LAYER)
    assert doc["layers"][0]["digest"] == dg.of_bytes(b"layer")
    assert convert.translate(raw, mt.DOCKER_MANIFEST, mt.OCI_MANIFEST) == oci  # deterministic
    back = json.loads(convert.translate(oci, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST))
    assert back == {**json.loads(raw), "layers": back["layers"]} and \
        back["layers"][0]["mediaType"] == mt.DOCKER_LAYER


@pytest.mark.parametrize("change", [
    {"subject": {"mediaType": mt.OCI_MANIFEST, "digest": dg.of_bytes(b"x"), "size": 1}},
    {"artifactType": "application/vnd.example"},
    {"layers": [{"mediaType": mt.OCI_LAYER_ZSTD, "digest": dg.of_bytes(b"z"), "size": 1}]},
    {"config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                "digest": dg.of_bytes(CONFIG), "size": 1}},
])
def test_no_translation_without_a_faithful_counterpart(change: dict) -> None:
    doc = {**json.loads(docker_manifest()), "mediaType": mt.OCI_MANIFEST, **change}
    doc["config"] = change.get("config", {**doc["config"], "mediaType": mt.OCI_CONFIG})
    assert convert.translate(json.dumps(doc).encode(), mt.OCI_MANIFEST, mt.DOCKER_MANIFEST) \
        is None


def test_a_pull_is_translated_by_tag_never_by_digest(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    for data in (CONFIG, b"layer"):
        s.put_blob("app", dg.of_bytes(data), [data])
    stored = s.put_manifest("app", mf.parse(docker_manifest()), "v1")
    image = s.get_manifest("app", "v1")
    assert serve_as(s, "app", image, None, by_tag=True) is image
    assert serve_as(s, "app", image, frozenset({mt.DOCKER_MANIFEST}), by_tag=False) is image
    served = serve_as(s, "app", image, frozenset({mt.OCI_MANIFEST}), by_tag=True)
    assert served.media_type == mt.OCI_MANIFEST and served.translated_from == stored.digest
    assert served.digest == dg.of_bytes(served.raw)
    assert serve_as(s, "app", image, frozenset({mt.OCI_MANIFEST}), by_tag=False) is None


def test_referrers_leave_out_empty_annotations(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    subject = dg.of_bytes(b"subject")
    for data in (CONFIG, b"layer"):
        s.put_blob("app", dg.of_bytes(data), [data])
    for note in ({}, {"k": "v"}):
        doc = json.loads(mf.build(mf.Descriptor(mt.OCI_CONFIG, dg.of_bytes(CONFIG), len(CONFIG)),
                                  [mf.Descriptor(mt.OCI_LAYER, dg.of_bytes(b"layer"), 5)]))
        doc.update({"subject": {"mediaType": mt.OCI_MANIFEST, "digest": subject, "size": 1},
                    "annotations": note, "artifactType": "application/vnd.example"})
        s.put_manifest("app", mf.parse(json.dumps(doc).encode()))
    found = referrers(s.images("app"), subject)
    assert sorted("annotations" in r for r in found) == [False, True]
    assert {r["artifactType"] for r in found} == {"application/vnd.example"}
    assert referrers(s.images("app"), subject, ["application/other"]) == []
