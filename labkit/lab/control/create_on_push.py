"""ECR's "create on push": a push to a missing repository covered by a repository creation
template applied for CREATE_ON_PUSH creates the repository with the template's settings.

The registry asks `CreateOnPush(name)` before it answers NAME_UNKNOWN.  The repository is made
through the lab's own ECR API (`CreateRepository`, then `PutLifecyclePolicy` and
`SetRepositoryPolicy` if the template has them), called in-process, so a repository created on
push is exactly what the same calls from the AWS CLI would have made.
"""

from __future__ import annotations

import logging
import threading

from .inprocess import ApiCallError, Caller
from .templates import Template, TemplateStore

log = logging.getLogger("labkit.lab.control")


class CreateOnPush:
    """The ECR backend's `create_on_push` hook: True if a template made the repository exist."""

    def __init__(self, templates: TemplateStore, call: Caller):
        self.templates = templates
        self.call = call
        self._lock = threading.Lock()  # two layers of one push arrive at once: create once

    def __call__(self, name: str) -> bool:
        template = self.templates.match(name, "CREATE_ON_PUSH")
        if template is None:
            return False
        with self._lock:
            try:
                self._create(name, template)
            except ApiCallError as e:  # a clear 403 for docker, not a 500
                from ..registry.errors import Denied

                raise Denied(f"ECR could not create the repository '{name}' from the repository "
                             f"creation template '{template.prefix}': {e}") from None
        log.info("create on push: created %s from the template with prefix %s", name,
                 template.prefix)
        return True

    def _create(self, name: str, template: Template) -> None:
        try:
            self.call("CreateRepository", template.create_repository_params(name))
        except ApiCallError as e:
            if e.code == "RepositoryAlreadyExistsException":
                return  # another request of the same push (or the learner) was first
            raise
        if template.lifecycle_policy:
            self.call("PutLifecyclePolicy", {"repositoryName": name,
                                             "lifecyclePolicyText": template.lifecycle_policy})
        if template.repository_policy:
            self.call("SetRepositoryPolicy", {"repositoryName": name,
                                              "policyText": template.repository_policy})
