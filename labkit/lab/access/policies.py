"""Policy documents: parsed once into statements the evaluator can run, and validated as the
service that receives them does.

Four kinds, one grammar (IAM user guide, "JSON policy element reference"), different rules:

- IDENTITY (IAM `put-user-policy`, `create-policy`...): no Principal; every statement needs a
  Resource; refusals are IAM's `MalformedPolicyDocument` messages.
- TRUST (a role's assume-role policy): a Principal, no Resource.
- REPOSITORY (ECR `set-repository-policy`): a Principal on every statement, no Resource (the
  policy is the repository's own), ECR actions only (and never `ecr:GetAuthorizationToken`,
  which has no repository); principals must exist.
  Refusals: ECR's `Invalid repository policy provided` / `Principal not found`.
- REGISTRY (ECR `put-registry-policy`): as a repository policy, but only the three actions
  ECR enforces at registry level (ReplicateImage, BatchImportUpstreamImage, CreateRepository:
  awsdocs/amazon-ecr-user-guide doc_source/registry-permissions.md) and a Resource.

`parse(text, kind)` never raises anything but `PolicyError` (tested with hypothesis): any JSON
value, however odd, gets a clear message of the receiving service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

from . import messages as M
from .principals import ACCOUNT_RE

MAX_POLICY_TEXT = 10240  # ECR's model: RepositoryPolicyText and RegistryPolicyText
MAX_IAM_POLICY = 131072  # generous; IAM's own quotas (2048-10240 by entity) are not modelled
VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                            "Resource", "NotResource", "Condition"})
TOP_KEYS = frozenset({"Version", "Id", "Statement"})
PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
REGISTRY_ACTIONS = frozenset({"ecr:replicateimage", "ecr:batchimportupstreamimage",
                              "ecr:createrepository"})
_VARIABLE = re.compile(r"\$\{([^}*?$]+)\}")
ACTION_RE = re.compile(r"^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$")
PRINCIPAL_ARN_RE = re.compile(r"^arn:aws:(iam|sts)::(\d{12}):(root|(user|role|assumed-role|group)"
                              r"(/[\x21-\x7e]*)?/[\w+=,.@-]+)$")
CONDITION_OPERATORS = frozenset(o.lower() for o in (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"))


class Kind(Enum):
    IDENTITY = "identity"
    TRUST = "trust"
    REPOSITORY = "repository"
    REGISTRY = "registry"


class PolicyError(ValueError):
    """A refused policy document: the receiving service's message and error code."""

    def __init__(self, message: M.Message, **fields: object):
        self.template = message
        self.message = message.format(**fields)
        self.code = message.json_code or message.query_code or "MalformedPolicyDocument"
        super().__init__(self.message)


@dataclass(frozen=True)
class Condition:
    operator: str  # lower-case base operator: "stringequals", "ipaddress", ...
    qualifier: str | None  # "foranyvalue" | "forallvalues" | None
    if_exists: bool
    key: str  # lower-case: condition keys are case-insensitive
    values: tuple[str, ...]  # as strings: true/false, numbers and dates stay text


@dataclass(frozen=True)
class Principals:
    """A Principal or NotPrincipal element: `*`, or lists by type."""

    wildcard: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principal: Principals | None = None
    not_principal: Principals | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = "2008-10-17"
    condition_keys: frozenset[str] = field(default=frozenset())  # every key its conditions read

    @classmethod
    def of(cls, statements: Iterable[Statement], version: str = "2012-10-17") -> Policy:
        """`condition_keys`: the request-context keys the policy can read (its conditions' and
        its policy variables'), which is what a cached decision must be keyed by."""
        st = tuple(statements)
        keys = {c.key for s in st for c in s.conditions}
        for s in st:
            texts = [*(s.resources or ()), *(s.not_resources or ()),
                     *(v for c in s.conditions for v in c.values)]
            keys.update(m.lower() for t in texts for m in _VARIABLE.findall(t))
        return cls(st, version, frozenset(keys))


# --- parsing ------------------------------------------------------------------------------

def parse(text: str | bytes | Mapping[str, Any], kind: Kind,
          principal_exists: Callable[[str], bool] | None = None) -> Policy:
    """The policy in `text`, checked for `kind`; PolicyError with the service's message.

    `principal_exists(entry)` is asked about each `"AWS"` principal of a REPOSITORY, REGISTRY or
    TRUST policy (an account id, root ARN, user, role or session ARN): ECR refuses a policy
    naming a principal that does not exist with `'Principal not found'`."""
    bad = _invalid(kind)
    if isinstance(text, Mapping):
        doc: Any = text
    else:
        limit = MAX_IAM_POLICY if kind in (Kind.IDENTITY, Kind.TRUST) else MAX_POLICY_TEXT
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise PolicyError(bad) from None
        if not isinstance(text, str):
            raise PolicyError(bad)
        if len(text) > limit:
            if kind in (Kind.IDENTITY, Kind.TRUST):
                raise PolicyError(bad)
            raise PolicyError(M.POLICY_TOO_LONG, shown=text[:50] + "...", limit=limit)
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise PolicyError(bad) from None
    return _document(doc, kind, bad, principal_exists)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python accepts them, JSON does not


def _invalid(kind: Kind) -> M.Message:
    return {Kind.IDENTITY: M.IAM_SYNTAX, Kind.TRUST: M.IAM_SYNTAX,
            Kind.REPOSITORY: M.REPOSITORY_POLICY_INVALID,
            Kind.REGISTRY: M.REGISTRY_POLICY_INVALID}[kind]


def _document(doc: Any, kind: Kind, bad: M.Message,
              principal_exists: Callable[[str], bool] | None) -> Policy:
    if not isinstance(doc, dict) or not set(doc) <= TOP_KEYS or "Statement" not in doc:
        raise PolicyError(bad)
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS or not isinstance(doc.get("Id", ""), str):
        raise PolicyError(bad)
    raw = doc["Statement"]
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise PolicyError(bad)
    statements = [_statement(s, kind, bad) for s in items]
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)) and kind is not Kind.REGISTRY:
        # IAM and ECR want Sids unique; ECR's own registry example repeats one (see the module doc)
        raise PolicyError(bad)
    if principal_exists is not None and kind is not Kind.IDENTITY:
        for s in statements:
            for p in (s.principal, s.not_principal):
                for entry in (p.aws if p else ()):
                    if entry != "*" and not principal_exists(entry):
                        raise PolicyError(M.PRINCIPAL_NOT_FOUND if kind is not Kind.TRUST
                                          else M.IAM_SYNTAX)
    return Policy.of(statements, version)


def _strings(value: Any, bad: M.Message, allow_empty: bool = False) -> tuple[str, ...]:
    """A policy element that is a string or a list of strings."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and (value or allow_empty) \
            and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(bad)


def _statement(raw: Any, kind: Kind, bad: M.Message) -> Statement:
    if not isinstance(raw, dict) or not set(raw) <= STATEMENT_KEYS:
        raise PolicyError(bad)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(bad)
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(bad)
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(bad)
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(bad)
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(bad)
    actions = _strings(raw["Action"], bad) if "Action" in raw else None
    not_actions = _strings(raw["NotAction"], bad) if "NotAction" in raw else None
    for a in actions or not_actions or ():
        if a != "*" and not ACTION_RE.match(a):
            raise PolicyError(bad)
    resources = _strings(raw["Resource"], bad) if "Resource" in raw else None
    not_resources = _strings(raw["NotResource"], bad) if "NotResource" in raw else None
    principal = _principals(raw["Principal"], bad) if "Principal" in raw else None
    not_principal = _principals(raw["NotPrincipal"], bad) if "NotPrincipal" in raw else None
    conditions = _conditions(raw.get("Condition", {}), bad)
    st = Statement(effect, sid, actions, not_actions, resources, not_resources, principal,
                   not_principal, conditions)
    _rules_of_kind(st, kind, bad)
    return st


def _principals(value: Any, bad: M.Message) -> Principals:
    if value == "*":
        return Principals(wildcard=True)
    if not isinstance(value, dict) or not value or not set(value) <= PRINCIPAL_TYPES:
        raise PolicyError(bad)
    aws = _strings(value["AWS"], bad) if "AWS" in value else ()
    for entry in aws:
        if entry != "*" and not (ACCOUNT_RE.match(entry) or PRINCIPAL_ARN_RE.match(entry)):
            raise PolicyError(bad)
    service = _strings(value["Service"], bad) if "Service" in value else ()
    federated = _strings(value["Federated"], bad) if "Federated" in value else ()
    if "CanonicalUser" in value:
        _strings(value["CanonicalUser"], bad)
    return Principals("*" in aws, tuple(a for a in aws if a != "*"), service, federated)


def _conditions(value: Any, bad: M.Message) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise PolicyError(bad)
    out: list[Condition] = []
    for op_name, block in value.items():
        op = op_name.lower()
        qualifier = None
        for q in ("foranyvalue:", "forallvalues:"):
            if op.startswith(q):
                qualifier, op = q[:-1], op[len(q):]
        if_exists = op.endswith("ifexists") and op != "null"
        if if_exists:
            op = op[:-len("ifexists")]
        if op not in CONDITION_OPERATORS or (op == "null" and qualifier) \
                or not isinstance(block, dict) or not block:
            raise PolicyError(bad)
        for key, raw in block.items():
            values = raw if isinstance(raw, list) else [raw]
            if not key or not values or not all(
                    isinstance(v, (str, bool, int, float)) and not _nan(v) for v in values):
                raise PolicyError(bad)
            out.append(Condition(op, qualifier, if_exists, key.lower(),
                                 tuple(_text(v) for v in values)))
    return tuple(out)


def _nan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def _text(v: str | bool | float) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _rules_of_kind(st: Statement, kind: Kind, bad: M.Message) -> None:
    if kind is Kind.IDENTITY:
        if st.principal is not None or st.not_principal is not None:
            raise PolicyError(M.IAM_NO_PRINCIPAL)
        if st.resources is None and st.not_resources is None:
            raise PolicyError(M.IAM_NO_RESOURCES)
        for r in st.resources or st.not_resources or ():
            if r != "*" and not r.startswith("arn:"):
                raise PolicyError(M.IAM_RESOURCE_ARN, resource=r)
        return
    if st.principal is None and st.not_principal is None:
        raise PolicyError(bad)
    if kind is Kind.TRUST:
        if st.resources is not None or st.not_resources is not None:
            raise PolicyError(bad)
        return
    actions = [a.lower() for a in (st.actions or st.not_actions or ())]
    if any(a != "*" and not a.startswith("ecr:") for a in actions):
        raise PolicyError(bad)
    if kind is Kind.REPOSITORY:
        # cloudposse/terraform-aws-ecr#67: GetAuthorizationToken has no repository
        if "ecr:getauthorizationtoken" in actions:
            raise PolicyError(bad)
        # A repository policy is attached to its resource and may not name one, not even
        # "*" (awsdocs/amazon-ecr-user-guide#20 took Resource out of the documented example
        # because ECR refused it; aws/aws-cdk#3590, #24314)
        if st.resources is not None or st.not_resources is not None:
            raise PolicyError(bad)
    else:  # REGISTRY
        if st.not_actions is not None or st.resources is None or not all(
                a in ("*", "ecr:*") or a in REGISTRY_ACTIONS for a in actions):
            raise PolicyError(bad)
        if any(r != "*" and not r.startswith("arn:aws:ecr:") for r in st.resources):
            raise PolicyError(bad)


# --- wildcards ----------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """`*` is any run of characters, `?` any one (actions: case-insensitive; ARNs: not)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
