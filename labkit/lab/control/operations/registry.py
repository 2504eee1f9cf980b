"""The registry's own settings: its policy, replication configuration, account settings
(BLOB_MOUNTING among them) and pull time update exclusions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ecr_registry import EcrRegistry, Params, paged
from ..errors import (
    ExclusionAlreadyExists,
    ExclusionNotFound,
    InvalidParameter,
    RegistryPolicyNotFound,
    Unsupported,
)
from ..settings import ACCOUNT_SETTINGS


def _settings_text() -> str:
    return ", ".join(f"{name} ({', '.join(values)})" for name, values in ACCOUNT_SETTINGS.items())


class RegistrySettingsApi:
    def __init__(self, registry: EcrRegistry, registry_policy: Callable[[str], Any]):
        self.reg = registry
        self.check_policy = registry_policy  # the access engine's validator (ECR's messages)

    def blob_mounting(self) -> bool:
        """ECR's BLOB_MOUNTING account setting: a push may mount blobs only once ENABLED."""
        return self.reg.settings.get("accountSettings").get("BLOB_MOUNTING") == "ENABLED"

    def describe_registry(self, params: Params) -> Params:
        return {"registryId": self.reg.registry_id,
                "replicationConfiguration": self.reg.settings.get("replicationConfiguration")}

    def put_replication_configuration(self, params: Params) -> Params:
        if params["replicationConfiguration"].get("rules"):
            raise Unsupported("replication", "the lab is one registry in one region; there is "
                              "nowhere to replicate to.")
        self.reg.settings.change(
            lambda s: s.__setitem__("replicationConfiguration", {"rules": []}))
        return {"replicationConfiguration": {"rules": []}}

    # ---- the registry policy ----
    def put_registry_policy(self, params: Params) -> Params:
        text = params["policyText"]
        self.check_policy(text)
        self.reg.settings.change(lambda s: s.__setitem__("registryPolicy", text))
        return {"registryId": self.reg.registry_id, "policyText": text}

    def get_registry_policy(self, params: Params) -> Params:
        text = self.reg.settings.get("registryPolicy")
        if not text:
            raise RegistryPolicyNotFound()
        return {"registryId": self.reg.registry_id, "policyText": text}

    def delete_registry_policy(self, params: Params) -> Params:
        out = self.get_registry_policy(params)
        self.reg.settings.change(lambda s: s.__setitem__("registryPolicy", None))
        return out

    # ---- account settings ----
    def get_account_setting(self, params: Params) -> Params:
        name = params["name"]
        settings = self.reg.settings.get("accountSettings")
        if name not in ACCOUNT_SETTINGS:
            raise InvalidParameter(f"The ECR lab knows the account settings {_settings_text()}.")
        return {"name": name, "value": settings[name]}

    def put_account_setting(self, params: Params) -> Params:
        name, value = params["name"], params["value"]
        if value not in ACCOUNT_SETTINGS.get(name, ()):
            raise InvalidParameter(f"The ECR lab knows the account settings {_settings_text()}.")
        self.reg.settings.change(lambda s: s["accountSettings"].__setitem__(name, value))
        return {"name": name, "value": value}

    # ---- pull time update exclusions: principals whose pulls leave lastRecordedPullTime ----
    def register_pull_time_update_exclusion(self, params: Params) -> Params:
        arn, now = params["principalArn"], self.reg.clock()

        def add(state: Params) -> None:
            if any(e["principalArn"] == arn for e in state["pullTimeUpdateExclusions"]):
                raise ExclusionAlreadyExists()
            state["pullTimeUpdateExclusions"].append({"principalArn": arn, "createdAt": now})

        self.reg.settings.change(add)
        return {"principalArn": arn, "createdAt": now}

    def deregister_pull_time_update_exclusion(self, params: Params) -> Params:
        arn = params["principalArn"]

        def drop(state: Params) -> None:
            before = state["pullTimeUpdateExclusions"]
            state["pullTimeUpdateExclusions"] = [e for e in before if e["principalArn"] != arn]
            if len(before) == len(state["pullTimeUpdateExclusions"]):
                raise ExclusionNotFound()

        self.reg.settings.change(drop)
        return {"principalArn": arn}

    def list_pull_time_update_exclusions(self, params: Params) -> Params:
        arns = [e["principalArn"] for e in self.reg.settings.get("pullTimeUpdateExclusions")]
        return paged("pullTimeUpdateExclusions", arns, params)
