"""Repository creation templates: the settings ECR gives a repository it creates itself.

A template applied for `CREATE_ON_PUSH` makes a push to a missing repository under its prefix
create that repository (ECR's "create on push"); `PULL_THROUGH_CACHE` and `REPLICATION` are
stored and described like ECR does, though the lab has no upstream to cache and no other region
to replicate to.  A prefix `prod` covers `prod/...` (not `production`); the longest matching
prefix wins; `ROOT` covers every repository no other template covers.

Templates persist as JSON under the lab's home (`templates.json`), written atomically.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ModuleError
from .lifecycle import LifecyclePolicyError, validate

ROOT = "ROOT"
APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
# botocore's ECR model, RepositoryCreationTemplate.prefix
PREFIX_PATTERN = (r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
                  r"\/?|ROOT)$")
FILTER_PATTERN = r"^[0-9a-zA-Z._*-]{1,128}$"
MAX_FILTERS = 5


class TemplateError(ModuleError):
    """An ECR API error about a creation template, with ECR's exception name as `code`."""


def _validation(value: Any, member: str, constraint: str) -> TemplateError:
    """The AWS-wide wording of a request member that fails the service model's constraint."""
    return TemplateError("ValidationException",
                         f"1 validation error detected: Value '{value}' at '{member}' failed to "
                         f"satisfy constraint: {constraint}")


def _invalid(member: str, reason: str) -> TemplateError:
    return TemplateError("InvalidParameterException",
                         f"Invalid parameter at '{member}' failed to satisfy constraint: "
                         f"'{reason}'")


@dataclass
class Template:
    """One repository creation template (the fields of ECR's RepositoryCreationTemplate)."""

    prefix: str
    applied_for: list[str]
    description: str = ""
    image_tag_mutability: str = "MUTABLE"
    image_tag_mutability_exclusion_filters: list[dict[str, str]] = field(default_factory=list)
    lifecycle_policy: str = ""
    repository_policy: str = ""
    resource_tags: list[dict[str, str]] = field(default_factory=list)
    encryption: dict[str, str] = field(default_factory=lambda: {"encryptionType": "AES256"})
    custom_role_arn: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def namespace(self) -> str:
        """The prefix as a path: `prod/` covers `prod/api`; `` for ROOT (covers everything)."""
        return "" if self.prefix == ROOT else self.prefix.rstrip("/") + "/"

    def covers(self, name: str) -> bool:
        return self.prefix == ROOT or name.startswith(self.namespace)

    def to_api(self) -> dict[str, Any]:
        """ECR's RepositoryCreationTemplate shape (what Describe/Create/Update/Delete return)."""
        doc: dict[str, Any] = {
            "prefix": self.prefix, "description": self.description,
            "encryptionConfiguration": dict(self.encryption),
            "resourceTags": [dict(t) for t in self.resource_tags],
            "imageTagMutability": self.image_tag_mutability,
            "repositoryPolicy": self.repository_policy,
            "lifecyclePolicy": self.lifecycle_policy,
            "appliedFor": list(self.applied_for),
            "createdAt": self.created_at, "updatedAt": self.updated_at}
        if self.image_tag_mutability_exclusion_filters:
            doc["imageTagMutabilityExclusionFilters"] = [
                dict(f) for f in self.image_tag_mutability_exclusion_filters]
        if self.custom_role_arn:
            doc["customRoleArn"] = self.custom_role_arn
        return doc

    def create_repository_params(self, name: str) -> dict[str, Any]:
        """CreateRepository's request for `name` with this template's settings."""
        params: dict[str, Any] = {"repositoryName": name,
                                  "imageTagMutability": self.image_tag_mutability,
                                  "encryptionConfiguration": dict(self.encryption)}
        if self.image_tag_mutability_exclusion_filters:
            params["imageTagMutabilityExclusionFilters"] = [
                dict(f) for f in self.image_tag_mutability_exclusion_filters]
        if self.resource_tags:
            params["tags"] = [dict(t) for t in self.resource_tags]
        return params


# Request member (ECR's camelCase) -> Template attribute
MEMBERS = {"prefix": "prefix", "appliedFor": "applied_for", "description": "description",
           "imageTagMutability": "image_tag_mutability",
           "imageTagMutabilityExclusionFilters": "image_tag_mutability_exclusion_filters",
           "lifecyclePolicy": "lifecycle_policy", "repositoryPolicy": "repository_policy",
           "resourceTags": "resource_tags", "encryptionConfiguration": "encryption",
           "customRoleArn": "custom_role_arn"}


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise _validation(prefix, "prefix", "Member must not be null")
    if len(prefix) > 256:
        raise _validation(prefix, "prefix",
                          "Member must have length less than or equal to 256")
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        raise _validation(prefix, "prefix",
                          f"Member must satisfy regular expression pattern: {PREFIX_PATTERN}")
    return prefix


def _check(t: Template) -> Template:
    """ECR's checks on a whole template (after defaults and an update are applied)."""
    check_prefix(t.prefix)
    if not isinstance(t.applied_for, list) or not t.applied_for:
        raise _validation(t.applied_for, "appliedFor", "Member must not be null")
    for value in t.applied_for:
        if value not in APPLIED_FOR:
            raise _validation(t.applied_for, "appliedFor",
                              "Member must satisfy constraint: [Member must satisfy enum value "
                              f"set: [{', '.join(APPLIED_FOR)}]]")
    if t.image_tag_mutability not in MUTABILITY:
        raise _validation(t.image_tag_mutability, "imageTagMutability",
                          f"Member must satisfy enum value set: [{', '.join(MUTABILITY)}]")
    filters = t.image_tag_mutability_exclusion_filters
    if t.image_tag_mutability.endswith("_WITH_EXCLUSION"):
        if not filters:
            raise _invalid("imageTagMutabilityExclusionFilters",
                           f"imageTagMutabilityExclusionFilters are required when "
                           f"imageTagMutability is {t.image_tag_mutability}")
    elif filters:
        raise _invalid("imageTagMutabilityExclusionFilters",
                       f"imageTagMutabilityExclusionFilters can only be used with "
                       f"IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not "
                       f"{t.image_tag_mutability}")
    if len(filters) > MAX_FILTERS:
        raise _validation(filters, "imageTagMutabilityExclusionFilters",
                          f"Member must have length less than or equal to {MAX_FILTERS}")
    for f in filters:
        if (not isinstance(f, dict) or f.get("filterType") != "WILDCARD"
                or not re.fullmatch(FILTER_PATTERN, str(f.get("filter", "")))):
            raise _validation(f, "imageTagMutabilityExclusionFilters.member",
                              "filterType must be WILDCARD and filter must satisfy regular "
                              f"expression pattern: {FILTER_PATTERN}")
    if len(t.description) > 256:
        raise _validation(t.description, "description",
                          "Member must have length less than or equal to 256")
    if t.encryption.get("encryptionType") not in ENCRYPTION_TYPES:
        raise _validation(t.encryption.get("encryptionType"),
                          "encryptionConfiguration.encryptionType",
                          f"Member must satisfy enum value set: [{', '.join(ENCRYPTION_TYPES)}]")
    if t.lifecycle_policy:
        try:
            validate(t.lifecycle_policy)
        except LifecyclePolicyError as e:
            raise TemplateError(e.code, e.message) from None
    if t.repository_policy:
        try:
            doc = json.loads(t.repository_policy)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise _invalid("PolicyText", "Invalid repository policy provided")
    for tag in t.resource_tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not tag["Key"]:
            raise _validation(tag, "resourceTags.member.Key", "Member must not be null")
    return t


class TemplateStore:
    """The registry's templates, persisted in one JSON file; safe across request threads."""

    def __init__(self, path: Path, registry_id: str, clock=time.time):
        self.path = Path(path)
        self.registry_id = registry_id
        self.clock = clock
        self._lock = threading.Lock()
        self._templates: dict[str, Template] = self._load()

    # ---- persistence ----

    def _load(self) -> dict[str, Template]:
        try:
            docs = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            # never lose a damaged file silently: keep it aside, start empty
            os.replace(self.path, self.path.with_suffix(f".damaged-{int(time.time())}"))
            return {}
        known = set(Template.__dataclass_fields__)
        return {d["prefix"]: Template(**{k: v for k, v in d.items() if k in known})
                for d in docs.get("templates", []) if isinstance(d, dict) and "prefix" in d}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps({"templates": [asdict(t) for t in self._templates.values()]},
                                  indent=1))
        os.replace(tmp, self.path)

    # ---- the API's operations ----

    def _not_found(self, prefix: str) -> TemplateError:
        return TemplateError("TemplateNotFoundException",
                             f"The repository creation template with prefix '{prefix}' does not "
                             f"exist in the registry with id '{self.registry_id}'")

    @staticmethod
    def _from_request(params: dict[str, Any], base: Template | None) -> Template:
        changes = {attr: params[member] for member, attr in MEMBERS.items()
                   if member in params and params[member] is not None}
        if base is None:
            return Template(**{"applied_for": [], **changes})
        return replace(base, **changes)

    def create(self, params: dict[str, Any]) -> Template:
        """CreateRepositoryCreationTemplate."""
        prefix = check_prefix(params.get("prefix"))
        template = _check(self._from_request(params, None))
        with self._lock:
            if prefix in self._templates:
                raise TemplateError("TemplateAlreadyExistsException",
                                    f"The repository creation template with prefix '{prefix}' "
                                    f"already exists in the registry with id "
                                    f"'{self.registry_id}'")
            template.created_at = template.updated_at = self.clock()
            self._templates[prefix] = template
            self._save()
        return template

    def update(self, params: dict[str, Any]) -> Template:
        """UpdateRepositoryCreationTemplate: only the members given change."""
        prefix = check_prefix(params.get("prefix"))
        with self._lock:
            current = self._templates.get(prefix)
            if current is None:
                raise self._not_found(prefix)
            template = _check(self._from_request(params, current))
            template.updated_at = self.clock()
            self._templates[prefix] = template
            self._save()
        return template

    def delete(self, prefix: Any) -> Template:
        """DeleteRepositoryCreationTemplate; returns what was deleted."""
        check_prefix(prefix)
        with self._lock:
            template = self._templates.pop(prefix, None)
            if template is None:
                raise self._not_found(prefix)
            self._save()
        return template

    def describe(self, prefixes: list[str] | None = None) -> list[Template]:
        """DescribeRepositoryCreationTemplates: all, or the named ones (unknown ones skipped)."""
        for prefix in prefixes or []:
            check_prefix(prefix)
        with self._lock:
            found = [t for p, t in sorted(self._templates.items())
                     if not prefixes or p in prefixes]
        return found

    def match(self, name: str, applied_for: str) -> Template | None:
        """The template ECR applies when it creates `name` for `applied_for`, if any."""
        with self._lock:
            candidates = [t for t in self._templates.values()
                          if applied_for in t.applied_for and t.covers(name)]
        return max(candidates, key=lambda t: len(t.namespace), default=None)


def match(store: TemplateStore, name: str, applied_for: str) -> Template | None:
    """Module-level spelling of `TemplateStore.match`."""
    return store.match(name, applied_for)
