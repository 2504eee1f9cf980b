"""What each request IS, in IAM's terms: the ECR action(s) it needs and on which resource.

- ECR API: the action is `ecr:<Operation>` (IAM's service authorization reference names one
  action per operation). The resource is the repository's ARN
  `arn:aws:ecr:REGION:ACCOUNT:repository/NAME` for every operation that takes a repository
  (awsdocs/amazon-ecr-user-guide doc_source/ecr-supported-iam-actions-resources.md), `*` for
  registry-level operations (GetAuthorizationToken, registry policy, scanning, replication,
  pull-through cache, creation templates, account settings, signing: no resource type, so
  policies must say `"Resource": "*"`). DescribeRepositories without names is authorized on
  `repository/*` (https://github.com/aws-amplify/amplify-cli/issues/10828 shows that resource
  in the denial); with names, on each repository.
- Registry `/v2/` (docker, skopeo): each route is the ECR action ECR's own docs list for
  `docker push` / `docker pull` (repository-policy-examples.md: BatchCheckLayerAvailability,
  InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutImage; BatchGetImage,
  GetDownloadUrlForLayer). See `REGISTRY_ACTIONS` for the rest and docs/access.md for choices
  ECR does not document (catalog, upload status/cancel, blob DELETE, mounts).

Reads botocore's ECR model as data (labkit.lab.control.model), never imports botocore.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from .principals import ACCOUNT_RE, PARTITION

SERVICE = "ecr"
GET_AUTHORIZATION_TOKEN = "GetAuthorizationToken"


@dataclass(frozen=True)
class Target:
    """One authorization question: `action` on `resource`, owned by `account`."""

    action: str  # "ecr:PutImage"
    resource: str  # an ARN, or "*"
    account: str  # the registry (account) that owns the resource
    repository: str | None = None  # the repository's name when the resource is one


def repository_arn(region: str, account: str, name: str) -> str:
    return f"arn:{PARTITION}:ecr:{region}:{account}:repository/{name}"


def parse_repository_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a repository ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", PARTITION, "ecr"] \
            or not parts[5].startswith("repository/") or not ACCOUNT_RE.match(parts[4]):
        return None
    return parts[3], parts[4], parts[5][len("repository/"):]


# --- the ECR API ----------------------------------------------------------------------------

@cache
def operation_scopes() -> dict[str, str]:
    """Every operation of botocore's ECR model -> how its resource is found: `repository`
    (repositoryName), `repositories` (repositoryNames), `arn` (resourceArn) or `registry` (*)."""
    from ..control import model

    view = model.ecr()
    scopes: dict[str, str] = {}
    for name in view.operation_names:
        shape = view.operation_model(name).input_shape
        members = set(shape.members) if shape is not None else set()
        if "repositoryName" in members:
            scopes[name] = "repository"
        elif "repositoryNames" in members:
            scopes[name] = "repositories"
        elif "resourceArn" in members:
            scopes[name] = "arn"
        else:
            scopes[name] = "registry"
    return scopes


def api_targets(operation: str, params: Mapping[str, Any], *, caller_account: str,
                region: str) -> list[Target]:
    """The authorization questions one ECR API call asks (one per repository it names).

    Call it after the request passed the model's validation; odd members are still handled
    (a missing name becomes `repository/` and is refused or allowed as such, never a crash)."""
    action = f"{SERVICE}:{operation}"
    scope = operation_scopes().get(operation, "registry")
    registry_id = params.get("registryId")
    account = registry_id if isinstance(registry_id, str) and ACCOUNT_RE.match(registry_id) \
        else caller_account
    if scope == "repository":
        name = params.get("repositoryName")
        name = name if isinstance(name, str) else ""
        return [Target(action, repository_arn(region, account, name), account, name)]
    if scope == "repositories":
        names = params.get("repositoryNames")
        if isinstance(names, list) and names:
            return [Target(action, repository_arn(region, account, n), account, n)
                    for n in names if isinstance(n, str)] or [
                Target(action, repository_arn(region, account, "*"), account)]
        return [Target(action, repository_arn(region, account, "*"), account)]
    if scope == "arn":
        arn = params.get("resourceArn")
        arn = arn if isinstance(arn, str) else ""
        parsed = parse_repository_arn(arn)
        if parsed:
            return [Target(action, arn, parsed[1], parsed[2])]
        return [Target(action, arn or "*", caller_account)]
    return [Target(action, "*", account)]


# --- the registry (/v2/) --------------------------------------------------------------------

# (route, method) -> the ECR actions it needs. Routes are the registry's (labkit.oci.routes
# ROUTES): base, catalog, upload, blob, manifest, tags, referrers.
REGISTRY_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("blob", "HEAD"): ("BatchCheckLayerAvailability",),
    ("blob", "GET"): ("GetDownloadUrlForLayer",),
    ("blob", "DELETE"): ("BatchDeleteImage",),  # ECR has no blob delete; the nearest action
    ("upload", "POST"): ("InitiateLayerUpload",),
    ("upload", "PATCH"): ("UploadLayerPart",),
    ("upload", "PUT"): ("CompleteLayerUpload",),  # + UploadLayerPart when the PUT has a body
    ("upload", "GET"): ("UploadLayerPart",),  # upload status: part of the same upload
    ("upload", "DELETE"): ("UploadLayerPart",),  # cancelling an upload one may write to
    ("manifest", "GET"): ("BatchGetImage",),
    ("manifest", "HEAD"): ("BatchGetImage",),
    ("manifest", "PUT"): ("PutImage",),
    ("manifest", "DELETE"): ("BatchDeleteImage",),
    ("tags", "GET"): ("ListImages",),
    ("referrers", "GET"): ("ListImageReferrers",),
    ("catalog", "GET"): ("DescribeRepositories",),  # on repository/*, then per repository
}


def registry_targets(route: str, method: str, name: str | None, *, account: str, region: str,
                     has_body: bool = False, mount_from: str | None = None) -> list[Target]:
    """The authorization questions one `/v2/` request asks; [] for the base route `/v2/`
    (a valid login is all it needs).

    `has_body`: an upload PUT carrying data is also an UploadLayerPart. `mount_from`: a
    cross-repository mount (`POST .../uploads/?mount=D&from=REPO`) reads a layer of REPO, so
    it also needs GetDownloadUrlForLayer there (the lab's choice: ECR documents none)."""
    actions = REGISTRY_ACTIONS.get((route, method.upper()))
    if not actions:
        return []
    if route == "catalog":
        return [Target(f"{SERVICE}:{actions[0]}", repository_arn(region, account, "*"),
                       account)]
    repo = name or ""
    arn = repository_arn(region, account, repo)
    targets = [Target(f"{SERVICE}:{a}", arn, account, repo) for a in actions]
    if route == "upload" and method.upper() == "PUT" and has_body:
        targets.insert(0, Target(f"{SERVICE}:UploadLayerPart", arn, account, repo))
    if route == "upload" and method.upper() == "POST" and mount_from:
        targets.append(Target(f"{SERVICE}:GetDownloadUrlForLayer",
                              repository_arn(region, account, mount_from), account,
                              mount_from))
    return targets


def catalog_entry_target(repository: str, *, account: str, region: str) -> Target:
    """The catalog lists a repository only to a caller who may DescribeRepositories on it."""
    return Target(f"{SERVICE}:DescribeRepositories", repository_arn(region, account, repository),
                  account, repository)
