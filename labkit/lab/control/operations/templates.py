"""Repository creation templates (Create/Update/Delete/DescribeRepositoryCreationTemplate[s]) and
ECR's "create on push": a push to a missing repository covered by a template applied for
CREATE_ON_PUSH creates the repository with the template's settings.

The repository is made through the ECR API's own dispatch (CreateRepository, then
PutLifecyclePolicy and SetRepositoryPolicy if the template has them), so a repository created on
push is exactly what the same calls from the AWS CLI would have made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ...registry.errors import Denied
from ..ecr_registry import EcrRegistry, Params
from ..errors import EcrError, RepositoryAlreadyExists
from ..templates import Template, check

log = logging.getLogger("labkit.lab.control")
Call = Callable[[str, Params], Params]


class Templates:
    def __init__(self, registry: EcrRegistry, call: Call,
                 repository_policy: Callable[[str], Any]):
        self.reg = registry
        self.call = call
        self.repository_policy = repository_policy
        self._lock = threading.Lock()  # two layers of one push arrive at once: create once

    def _check(self, template: Template) -> Template:
        return check(template, self.repository_policy)

    def _answer(self, template: Template) -> Params:
        return {"registryId": self.reg.registry_id,
                "repositoryCreationTemplate": template.to_api()}

    def create_repository_creation_template(self, params: Params) -> Params:
        return self._answer(self.reg.templates.create(params, self._check))

    def update_repository_creation_template(self, params: Params) -> Params:
        return self._answer(self.reg.templates.update(params, self._check))

    def delete_repository_creation_template(self, params: Params) -> Params:
        return self._answer(self.reg.templates.delete(params["prefix"]))

    def describe_repository_creation_templates(self, params: Params) -> Params:
        found = self.reg.templates.describe(params.get("prefixes"))
        return {"registryId": self.reg.registry_id,
                "repositoryCreationTemplates": [t.to_api() for t in found]}

    # ---- create on push ----
    def create_on_push(self, name: str) -> bool:
        """True if a CREATE_ON_PUSH template made the repository exist; a refusal of the ECR API
        is a clear DENIED for the pushing client, never a 500."""
        template = self.reg.templates.match(name, "CREATE_ON_PUSH")
        if template is None:
            return False
        with self._lock:
            try:
                self._create(name, template)
            except EcrError as e:
                raise Denied(f"The ECR lab could not create the repository '{name}' from the "
                             f"repository creation template '{template.prefix}': {e}") from None
        log.info("create on push: created %s from the template with prefix %s", name,
                 template.prefix)
        return True

    def _create(self, name: str, template: Template) -> None:
        try:
            self.call("CreateRepository", template.create_repository_params(name))
        except RepositoryAlreadyExists:
            return  # another request of the same push (or the learner) was first
        if template.lifecycle_policy:
            self.call("PutLifecyclePolicy", {"repositoryName": name,
                                             "lifecyclePolicyText": template.lifecycle_policy})
        if template.repository_policy:
            self.call("SetRepositoryPolicy", {"repositoryName": name,
                                              "policyText": template.repository_policy})
