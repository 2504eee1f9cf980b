"""Repository creation templates: the settings ECR gives a repository it creates itself.

A template applied for `CREATE_ON_PUSH` makes a push to a missing repository under its prefix
create that repository (ECR's "create on push"); `PULL_THROUGH_CACHE` and `REPLICATION` are
stored and described like ECR does, though the lab has no upstream to cache and no other region
to replicate to.  A prefix `prod` covers `prod/...` (not `production`); the longest matching
prefix wins; `ROOT` covers every repository no other template covers.

Templates persist as JSON under the registry's directory (`templates.json`), written
atomically.  The request's members are checked against botocore's model by the ECR API's one
dispatch (like every operation's); `check` adds ECR's rules across members.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InvalidParameter, TemplateAlreadyExists, TemplateNotFound
from .lifecycle import validate as validate_lifecycle
from .mutability import check_settings
from .repository_rules import check_encryption, check_tags

ROOT = "ROOT"
APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")


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


def check(t: Template, repository_policy: Callable[[str], object]) -> Template:
    """ECR's rules on a whole template (after defaults and an update are applied), with the same
    checks CreateRepository, PutLifecyclePolicy and SetRepositoryPolicy apply."""
    if not t.applied_for:
        raise InvalidParameter.constraint("appliedFor", "Member must have length greater than "
                                          "or equal to 1")
    t.image_tag_mutability_exclusion_filters = check_settings(
        t.image_tag_mutability, t.image_tag_mutability_exclusion_filters)
    t.encryption = check_encryption(t.encryption)
    t.resource_tags = check_tags(t.resource_tags)
    if t.lifecycle_policy:
        validate_lifecycle(t.lifecycle_policy)
    if t.repository_policy:
        repository_policy(t.repository_policy)
    return t


class TemplateStore:
    """The registry's templates, persisted in one JSON file; safe across request threads."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
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

    @staticmethod
    def _from_request(params: dict[str, Any], base: Template | None) -> Template:
        changes = {attr: params[member] for member, attr in MEMBERS.items()
                   if member in params and params[member] is not None}
        if base is None:
            return Template(**{"applied_for": [], **changes})
        return replace(base, **changes)

    def create(self, params: dict[str, Any],
               check_template: Callable[[Template], Template] = lambda t: t) -> Template:
        """CreateRepositoryCreationTemplate."""
        template = check_template(self._from_request(params, None))
        with self._lock:
            if template.prefix in self._templates:
                raise TemplateAlreadyExists()
            template.created_at = template.updated_at = self.clock()
            self._templates[template.prefix] = template
            self._save()
        return template

    def update(self, params: dict[str, Any],
               check_template: Callable[[Template], Template] = lambda t: t) -> Template:
        """UpdateRepositoryCreationTemplate: only the members given change."""
        with self._lock:
            current = self._templates.get(params["prefix"])
            if current is None:
                raise TemplateNotFound()
            template = check_template(self._from_request(params, current))
            template.updated_at = self.clock()
            self._templates[template.prefix] = template
            self._save()
        return template

    def delete(self, prefix: str) -> Template:
        """DeleteRepositoryCreationTemplate; returns what was deleted."""
        with self._lock:
            template = self._templates.pop(prefix, None)
            if template is None:
                raise TemplateNotFound()
            self._save()
        return template

    def describe(self, prefixes: list[str] | None = None) -> list[Template]:
        """DescribeRepositoryCreationTemplates: all, or the named ones (unknown ones skipped)."""
        with self._lock:
            return [t for p, t in sorted(self._templates.items())
                    if not prefixes or p in prefixes]

    def match(self, name: str, applied_for: str) -> Template | None:
        """The template ECR applies when it creates `name` for `applied_for`, if any."""
        with self._lock:
            candidates = [t for t in self._templates.values()
                          if applied_for in t.applied_for and t.covers(name)]
        return max(candidates, key=lambda t: len(t.namespace), default=None)
