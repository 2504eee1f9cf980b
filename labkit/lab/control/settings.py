"""Registry-wide ECR settings (registry policy, scanning and replication configuration, account
settings, pull time exclusions, signing): small JSON state, written atomically, kept next to the
registry's store.  Repositories, images, tags and layers are NOT here: they live in the store."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# ECR's account settings and the values the lab takes (botocore's PutAccountSetting model names
# AWS_NATIVE, V2, ENABLED|DISABLED; CLAIR and V1 are the older values ECR still describes).
ACCOUNT_SETTINGS: dict[str, tuple[str, ...]] = {
    "BASIC_SCAN_TYPE_VERSION": ("AWS_NATIVE", "CLAIR"),
    "REGISTRY_POLICY_SCOPE": ("V1", "V2"),
    "BLOB_MOUNTING": ("ENABLED", "DISABLED"),
}
DEFAULTS: dict[str, Any] = {
    "registryPolicy": None,
    "scanningConfiguration": {"scanType": "BASIC", "rules": []},
    "replicationConfiguration": {"rules": []},
    "accountSettings": {"BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE", "REGISTRY_POLICY_SCOPE": "V2",
                        "BLOB_MOUNTING": "DISABLED"},
    "pullTimeUpdateExclusions": [],
    "signingConfiguration": None,
}


class RegistrySettings:
    """A dict of registry-wide settings on disk; `change(fn)` is read-modify-write under a lock."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            saved = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            saved = {}
        state = copy.deepcopy(DEFAULTS)
        state.update({k: v for k, v in saved.items() if k in DEFAULTS})
        # a setting a newer lab added (BLOB_MOUNTING) gets its default in an older file
        state["accountSettings"] = {**DEFAULTS["accountSettings"],
                                    **(saved.get("accountSettings") or {})}
        return state

    def get(self, key: str) -> Any:
        return self.read()[key]

    def change(self, fn: Callable[[dict[str, Any]], Any]) -> Any:
        with self.lock:
            state = self.read()
            result = fn(state)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
            return result
