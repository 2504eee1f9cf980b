"""Image scanning: StartImageScan, DescribeImageScanFindings, the registry's scanning
configuration (with its scan-on-push filters) and each repository's view of it.

The scanner is control/scanning.py (it never invents a finding).  As on ECR, a basic scan of an
image runs at most once per 24 hours, the scan on push included (botocore's StartImageScan
documentation), by the lab's clock; and a push is scanned when its repository says scanOnPush or
a SCAN_ON_PUSH rule of the registry's configuration matches the repository's name (ECR user
guide: a filter without a wildcard matches names that contain it, `*` stands for any
characters).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from ....oci.manifest import Manifest
from ...registry.storage import StoredImage
from .. import scanning
from ..ecr_registry import EcrRegistry, Params, first_tag
from ..errors import InvalidParameter, LimitExceeded, RepositoryNotFound, ScanNotFound, Unsupported
from ..mutability import wildcard_match

DAY = 86400.0


def filter_matches(pattern: str, name: str) -> bool:
    return wildcard_match(pattern, name) if "*" in pattern else pattern in name


class Scanning:
    def __init__(self, registry: EcrRegistry):
        self.reg = registry

    # ---- scans ----
    def _scan(self, name: str, image: StoredImage) -> Params:
        """Scan now and keep the result (refused within 24 hours of the image's last scan)."""
        now = self.reg.clock()
        last = self.reg.scans.get((name, image.digest))
        if last is not None and now - last["at"] < DAY:
            raise LimitExceeded()

        def layers() -> Iterator[IO[bytes]]:
            doc = json.loads(image.raw)
            for layer in doc.get("layers") or []:
                yield open(self.reg.store.blob_path(layer["digest"]), "rb")  # noqa: SIM115

        result = scanning.scan(layers)
        done = {"at": now, "status": result.image_scan_status(),
                "findings": result.image_scan_findings(now)}
        self.reg.scans[(name, image.digest)] = done
        return done

    def status(self, name: str, image: StoredImage) -> Params | None:
        done = self.reg.scans.get((name, image.digest))
        return done["status"] if done else None

    def on_push(self, name: str, manifest: Manifest, tag: str | None, pushed_at: float) -> None:
        """A push succeeded (PutImage or /v2/): scan it if the repository or a registry rule
        says so.  Indexes have no layers to scan."""
        if manifest.is_index or not self.scans_on_push(name):
            return
        image = self.reg.store.get_manifest(name, manifest.digest)
        if image is not None and (name, image.digest) not in self.reg.scans:
            self._scan(name, image)

    def _rule_filters(self, name: str) -> list[Params]:
        """The registry's SCAN_ON_PUSH filters that match the repository's name."""
        config = self.reg.settings.get("scanningConfiguration")
        return [f for rule in config.get("rules") or []
                if rule.get("scanFrequency") == "SCAN_ON_PUSH"
                for f in rule.get("repositoryFilters") or []
                if filter_matches(str(f.get("filter", "")), name)]

    def scans_on_push(self, name: str) -> bool:
        record = self.reg.store.repository_record(name) or {}
        return (bool((record.get("imageScanningConfiguration") or {}).get("scanOnPush"))
                or bool(self._rule_filters(name)))

    def start_image_scan(self, params: Params) -> Params:
        name, image = self.reg.image(params)
        done = self._scan(name, image)
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "imageId": {"imageDigest": image.digest, **first_tag(image)},
                "imageScanStatus": done["status"]}

    def describe_image_scan_findings(self, params: Params) -> Params:
        name, image = self.reg.image(params)
        done = self.reg.scans.get((name, image.digest))
        if done is None:
            raise ScanNotFound()
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "imageId": {"imageDigest": image.digest, **first_tag(image)},
                "imageScanStatus": done["status"], "imageScanFindings": done["findings"]}

    # ---- configuration ----
    def get_registry_scanning_configuration(self, params: Params) -> Params:
        return {"registryId": self.reg.registry_id,
                "scanningConfiguration": self.reg.settings.get("scanningConfiguration")}

    def put_registry_scanning_configuration(self, params: Params) -> Params:
        scan_type = params.get("scanType") or "BASIC"
        if scan_type == "ENHANCED":
            raise Unsupported("ENHANCED scanning", "enhanced scanning is Amazon Inspector, "
                              "which the lab does not have.")
        rules = list(params.get("rules") or [])
        for rule in rules:
            if rule.get("scanFrequency") == "CONTINUOUS_SCAN":
                raise InvalidParameter("The ECR lab: basic scanning scans on push (or "
                                       "manually); CONTINUOUS_SCAN is enhanced scanning.")
        config = {"scanType": scan_type, "rules": rules}
        self.reg.settings.change(lambda s: s.__setitem__("scanningConfiguration", config))
        return {"registryScanningConfiguration": config}

    def batch_get_repository_scanning_configuration(self, params: Params) -> Params:
        configs, failures = [], []
        for name in params["repositoryNames"]:
            record = self.reg.store.repository_record(name)
            if record is None:
                failures.append({"repositoryName": name, "failureCode": "REPOSITORY_NOT_FOUND",
                                 "failureReason": RepositoryNotFound(
                                     name, self.reg.registry_id).message})
                continue
            on_push = self.scans_on_push(name)
            applied = [{"filter": f["filter"], "filterType": f.get("filterType", "WILDCARD")}
                       for f in self._rule_filters(name)]
            configs.append({"repositoryArn": self.reg.arn(name), "repositoryName": name,
                            "scanOnPush": on_push,
                            "scanFrequency": "SCAN_ON_PUSH" if on_push else "MANUAL",
                            "appliedScanFilters": applied})
        return {"scanningConfigurations": configs, "failures": failures}
