"""The lab's ECR backend: every operation of botocore's ECR model, on one registry's store, through
one door.

`EcrBackend.call(action, params)` is that door: the input is checked against botocore's model,
then the operation (control/operations/, one class per kind of thing it acts on) runs under the
registry's lock.  The wire (responses.py) calls it for every request, templates and tokens
included; the lab's own callers (create on push, the lifecycle runner's expiries) call it too,
in-process, with the same validation and rules: nothing reaches an operation another way.
Errors are typed all the way (control/errors.py); the wire turns them into ECR's JSON.

The same object is the registry's ControlPlane (`repository_exists`, `tag_immutable`,
`repository_for_push`, `image_pushed`, `blob_mounting`), so `/v2/` and the API apply one set of
rules to one store.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ...oci.manifest import Manifest
from ..access.control import AccessError
from ..auth.signing import Signer
from ..registry.errors import NameInvalid
from ..registry.presign import Presigner
from . import validation
from .caller import ApiCaller, calling_as
from .ecr_registry import EcrRegistry, Params, RegistryFiles
from .errors import EcrError, InvalidParameter, UnknownOperation, ValidationError
from .model import ecr
from .mutability import tag_is_immutable
from .operations.images import Images
from .operations.layers import Layers
from .operations.lifecycle_policies import LifecyclePolicies
from .operations.not_in_the_lab import NotInTheLab
from .operations.registry import RegistrySettingsApi
from .operations.repositories import Repositories
from .operations.scanning import Scanning
from .operations.templates import Templates
from .operations.tokens import Tokens, TokenSource

log = logging.getLogger("labkit.lab.control")
Handler = Callable[[Params], Params]


class PolicyChecks(Protocol):
    """How policy documents are validated (labkit.lab.access.AccessControl): raise an error with
    ECR's `code` and `message` for a document ECR refuses."""

    def repository_policy(self, text: Any) -> object: ...

    def registry_policy(self, text: Any) -> object: ...


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class EcrBackend:
    """ECR for one registry (one account, one region), on the registry's store."""

    def __init__(self, registry: EcrRegistry, signer: Signer, issuer: TokenSource,
                 policies: PolicyChecks, token_ttl: Callable[[], float] = lambda: 12 * 3600.0,
                 scheme: str = "http"):
        self.registry = registry
        self.scheme = scheme  # "https" for a TLS lab (labkit/lab/tls)
        self.storage = registry.store
        self.registry_id = registry.registry_id
        self.region = registry.region
        self.lock = threading.RLock()
        self._policies = policies
        endpoint = self._endpoint
        self.scanning = Scanning(registry)
        self.lifecycle = LifecyclePolicies(registry, self.call)
        self.templates = Templates(registry, self.call, self._repository_policy)
        self.settings = RegistrySettingsApi(registry, self._registry_policy)
        self.groups: tuple[object, ...] = (
            Repositories(registry, self._repository_policy),
            Images(registry, self.image_pushed, self.scanning.status),
            Layers(registry, Presigner(signer), endpoint),
            self.lifecycle, self.scanning, self.settings, self.templates,
            NotInTheLab(registry), Tokens(registry, issuer, token_ttl, endpoint))
        self._handlers: dict[str, Handler] = {}
        for operation in ecr().operation_names:  # each operation of the model, in its group
            method = snake(operation)
            for group in self.groups:
                if callable(getattr(group, method, None)):
                    self._handlers[method] = getattr(group, method)
                    break

    @classmethod
    def open(cls, files: RegistryFiles, registry_id: str, region: str,
             registry_host: Callable[[], str], signer: Signer, issuer: TokenSource,
             policies: PolicyChecks, clock: Callable[[], float],
             token_ttl: Callable[[], float] = lambda: 12 * 3600.0,
             scheme: str = "http") -> EcrBackend:
        """The backend of the registry kept in `files` (adopting a pre-one-store home once)."""
        registry = EcrRegistry.open(files, registry_id, region, registry_host, clock)
        backend = cls(registry, signer, issuer, policies, token_ttl, scheme)
        backend.adopt_legacy(files)
        return backend

    def _endpoint(self) -> str:
        """The registry's URL (repository URIs, GetAuthorizationToken's proxyEndpoint, the
        pre-signed layer URLs)."""
        return f"{self.scheme}://{self.registry.host()}"

    # ---- the one door -------------------------------------------------------------------------
    def handler(self, action: str) -> Handler | None:
        """The operation that answers `action` (an operation name of botocore's model)."""
        return self._handlers.get(snake(action))

    def call(self, action: str, params: Any, caller: ApiCaller | None = None,
             authorize: Callable[[Params], None] | None = None) -> Params:
        """One operation: check `params` against botocore's model, run it; an EcrError if ECR
        would refuse it. `caller`: the verified caller of an API request, and `authorize` its
        permission check (run once the input is valid, raising the refusal); None for the
        lab's own calls."""
        op = validation.operation(action)
        if op is None:
            raise UnknownOperation(action)
        validation.check(op, params)
        if authorize is not None:
            authorize(params)
        handler = self.handler(action)
        if handler is None:  # a newer botocore than the lab knows
            raise ValidationError(f"The ECR lab does not support {action} yet.")
        with self.lock, calling_as(caller):
            return handler(params)

    # ---- policy documents: the access engine's validators, ECR's errors -------------------------
    def _repository_policy(self, text: str) -> None:
        self._policy(self._policies.repository_policy, text)

    def _registry_policy(self, text: str) -> None:
        self._policy(self._policies.registry_policy, text)

    @staticmethod
    def _policy(check: Callable[[Any], object], text: str) -> None:
        try:
            check(text)
        except AccessError as e:
            if e.code == InvalidParameter.code:
                raise InvalidParameter(e.message) from None
            raise ValidationError(e.message) from None

    # ---- the registry's ControlPlane ----------------------------------------------------------
    def repository_exists(self, name: str) -> bool:
        return self.registry.exists(name)

    def repository_names(self) -> list[str]:
        return self.registry.names()

    def tag_immutable(self, name: str, tag: str) -> bool:
        return tag_is_immutable(self.storage.repository_record(name) or {}, tag)

    def repository_for_push(self, name: str) -> bool:
        """A push to a missing repository: ECR creates it only when a creation template applied
        for CREATE_ON_PUSH matches; otherwise the push fails with ECR's `name unknown`."""
        if self.repository_exists(name):
            return True
        return self.templates.create_on_push(name) and self.repository_exists(name)

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        """Nothing to copy: the store already holds it.  Scan on push when asked to (outside
        the API's lock: a scan reads every layer)."""
        self.scanning.on_push(name, manifest, tag, pushed_at)

    def blob_mounting(self) -> bool:
        return self.settings.blob_mounting()

    # ---- state from before the one store ----------------------------------------------------
    def adopt_legacy(self, files: RegistryFiles) -> None:
        """A lab home from before the one store kept repositories in control.json: adopt them
        once, and drop stored images of repositories that no longer exist."""
        try:
            state = json.loads(files.legacy.read_text())
        except (FileNotFoundError, ValueError):
            state = None
        if isinstance(state, dict):
            for r in state.get("repositories", []):
                try:
                    self._adopt(r)
                except (KeyError, TypeError, ValueError, EcrError, NameInvalid) as e:
                    log.warning("control.json: skipped a repository record it cannot read "
                                "(%s): %r", e, r)
            files.legacy.rename(files.legacy.with_suffix(".json.imported"))
        for name in self.storage.repositories():
            if not self.repository_exists(name):
                log.info("dropping stored images of unknown repository %s", name)
                self.storage.delete_repository(name)

    def _adopt(self, r: dict[str, Any]) -> None:
        """One repository of a control.json (a record that cannot be read is skipped)."""
        self.storage.create_repository(r["name"], {
            "createdAt": float(r.get("created_at") or self.registry.clock()),
            "imageTagMutability": r.get("image_tag_mutability") or "MUTABLE",
            "imageScanningConfiguration": r.get("image_scanning_configuration")
            or {"scanOnPush": False},
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "tags": r.get("tags") or [],
            **({"policy": r["policy"]} if r.get("policy") else {}),
            **({"lifecyclePolicy": r["lifecycle_policy"]} if r.get("lifecycle_policy") else {}),
        })
