"""Scanning: ECR's UNSUPPORTED_IMAGE for images without an OS package database (the kit's own
images, inspected for real), an honest 'no database offline' otherwise, never a finding."""

from __future__ import annotations

import gzip
import io
import tarfile

from labkit.course import sample
from labkit.engines.builtin import BuiltinEngine
from labkit.lab.control.scanning import (
    UNSUPPORTED_DESCRIPTION,
    scan,
)


def layer(files: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw) if compress else raw


def reader(*layers: bytes):
    return lambda: (io.BytesIO(b) for b in layers)


def test_the_kits_sample_image_is_unsupported_as_ecr_says(tmp_path):
    engine = BuiltinEngine(home=tmp_path / "engine")
    sample.ensure_base(engine)
    engine.build(sample.context(1), "scan-me:1.0")
    image = engine.store.resolve("scan-me:1.0")
    assert image.manifest.layers
    result = scan(lambda: (open(engine.store.blob_path(d.digest), "rb")
                           for d in image.manifest.layers))
    assert result.image_scan_status() == {"status": "UNSUPPORTED_IMAGE",
                                          "description": UNSUPPORTED_DESCRIPTION}
    assert result.image_scan_findings(1.0)["findings"] == []


def test_a_debian_like_image_gets_no_invented_findings():
    result = scan(reader(layer({"etc/os-release": b"ID=debian\n",
                                "var/lib/dpkg/status": b"Package: libc6\n"})))
    assert result.status == "FINDINGS_UNAVAILABLE" and result.package_managers == ["dpkg"]
    assert "no vulnerability database offline" in result.description
    assert "real Amazon ECR" in result.description
    findings = result.image_scan_findings(1.0)
    assert findings["findings"] == [] and findings["findingSeverityCounts"] == {}


def test_alpine_and_rpm_databases_plain_tar_layers():
    assert scan(reader(layer({"lib/apk/db/installed": b"P:musl\n"}, compress=False))) \
        .package_managers == ["apk"]
    assert scan(reader(layer({"./var/lib/rpm/rpmdb.sqlite": b"x"}))).package_managers == ["rpm"]


def test_a_database_removed_by_a_later_layer_does_not_count():
    base = layer({"var/lib/dpkg/status": b"Package: x\n"})
    assert scan(reader(base, layer({"var/lib/dpkg/.wh.status": b""}))).status == \
        "UNSUPPORTED_IMAGE"
    assert scan(reader(base, layer({"var/lib/.wh.dpkg": b""}))).status == "UNSUPPORTED_IMAGE"
    assert scan(reader(base, layer({"var/lib/dpkg/.wh..wh..opq": b""}))).status == \
        "UNSUPPORTED_IMAGE"


def test_unreadable_layers_fail_the_scan_clearly():
    result = scan(reader(b"this is not a tar archive at all" * 20))
    assert result.status == "FAILED" and "could not read" in result.description
