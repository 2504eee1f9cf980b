"""Image scanning without invented findings.

ECR's basic scanning reads an image's OS package database (dpkg, apk, rpm) and matches the
packages against a vulnerability database.  The lab has no vulnerability database offline, so
it never reports findings.  What it can do honestly is look into the layers:

- no OS package database in any layer (the kit's images: one static binary): the status and
  description ECR gives such images, `UNSUPPORTED_IMAGE` / "UnsupportedImageError: The operating
  system and/or package manager are not supported.";
- a package database found: `FINDINGS_UNAVAILABLE`, saying that the lab has no vulnerability
  database and that the scan runs on real ECR.

`scan(layers_reader)` takes a callable that yields each layer's blob as a binary stream, in
order (gzip-compressed or plain tar); whiteouts in later layers are honoured.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

UNSUPPORTED = "UNSUPPORTED_IMAGE"
UNAVAILABLE = "FINDINGS_UNAVAILABLE"
UNSUPPORTED_DESCRIPTION = ("UnsupportedImageError: The operating system and/or package manager "
                           "are not supported.")
UNAVAILABLE_DESCRIPTION = ("The lab has no vulnerability database offline, so it reports no "
                           "findings for this image ({manager} packages found). Scanning runs on "
                           "real Amazon ECR: push the image there to scan it.")
# Package databases ECR's basic scanning reads, by package manager.
PACKAGE_DATABASES = {
    "var/lib/dpkg/status": "dpkg",
    "lib/apk/db/installed": "apk",
    "var/lib/rpm/Packages": "rpm",
    "var/lib/rpm/Packages.db": "rpm",
    "var/lib/rpm/rpmdb.sqlite": "rpm",
    "usr/lib/sysimage/rpm/Packages.db": "rpm",
    "usr/lib/sysimage/rpm/rpmdb.sqlite": "rpm",
}
LayersReader = Callable[[], Iterable[IO[bytes]]]


@dataclass
class ScanResult:
    """What a scan found out: ECR's status and description, and the package databases seen."""

    status: str
    description: str
    package_managers: list[str] = field(default_factory=list)

    def image_scan_status(self) -> dict[str, str]:
        """ECR's `imageScanStatus` (DescribeImages, DescribeImageScanFindings)."""
        return {"status": self.status, "description": self.description}

    def image_scan_findings(self, completed_at: float) -> dict[str, Any]:
        """ECR's `imageScanFindings`: never a finding the lab cannot know."""
        return {"imageScanCompletedAt": completed_at, "findingSeverityCounts": {},
                "findings": []}


def _normal(name: str) -> str:
    return name.lstrip("./").lstrip("/")


def package_databases(layers: Iterable[IO[bytes]]) -> dict[str, str]:
    """Package database paths present in the image's final filesystem -> package manager."""
    present: dict[str, str] = {}
    for stream in layers:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                path = _normal(member.name)
                directory, _, base = path.rpartition("/")
                if base == ".wh..wh..opq":  # opaque directory: lower layers' content is hidden
                    for p in [p for p in present if p.startswith(directory + "/")]:
                        del present[p]
                elif base.startswith(".wh."):
                    hidden = f"{directory}/{base[4:]}" if directory else base[4:]
                    for p in [p for p in present if p == hidden or p.startswith(hidden + "/")]:
                        del present[p]
                elif path in PACKAGE_DATABASES and (member.isfile() or member.issym()):
                    present[path] = PACKAGE_DATABASES[path]
    return present


def scan(layers_reader: LayersReader) -> ScanResult:
    """Scan an image as far as the lab honestly can (see the module's docstring)."""
    try:
        found = package_databases(layers_reader())
    except (tarfile.TarError, OSError, EOFError) as e:
        return ScanResult("FAILED", f"The lab could not read the image's layers: {e}")
    if not found:
        return ScanResult(UNSUPPORTED, UNSUPPORTED_DESCRIPTION)
    managers = sorted(set(found.values()))
    return ScanResult(UNAVAILABLE, UNAVAILABLE_DESCRIPTION.format(manager=", ".join(managers)),
                      managers)
