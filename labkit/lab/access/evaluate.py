"""Policy evaluation as the IAM user guide's "Policy evaluation logic" describes it.

1. An explicit Deny in any policy that applies wins.
2. Same account: an Allow in an identity-based policy OR in the resource's policy (when that
   policy names the caller itself, `*`, or the caller's role) is enough. A resource policy that
   names only the account delegates to the account's identity-based policies.
3. Another account: the caller's identity-based policy AND the resource's policy must allow.
4. A session policy (AssumeRole's `Policy`) limits what the role's policies allow.
5. An account's root may do anything in its own account (elsewhere, what a resource policy
   grants its account).

Which policy type a denial names (the IAM guide: "AWS includes only one of those policy types"):
an explicit deny names the identity-based policy when one denies (the caller's own policies are
evaluated first), else the resource-based one; an implicit deny names the identity-based policy
unless the identity-based side allowed and only the resource side (another account's
repository) is missing. See docs/access.md.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum

from . import messages as M
from .policies import Condition, Policy, Principals, Statement, wildcard
from .principals import Grant, Principal

Context = Mapping[str, Sequence[str]]  # condition key (lower-case) -> its values
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Decision(Enum):
    ALLOW = "allow"
    NO_IDENTITY_ALLOW = "implicit-identity"
    NO_RESOURCE_ALLOW = "implicit-resource"
    NO_SESSION_ALLOW = "implicit-session"
    EXPLICIT_IDENTITY = "explicit-identity"
    EXPLICIT_RESOURCE = "explicit-resource"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW

    @property
    def message(self) -> M.Message:
        return {Decision.NO_IDENTITY_ALLOW: M.DENY_NO_IDENTITY,
                Decision.NO_RESOURCE_ALLOW: M.DENY_NO_RESOURCE,
                Decision.NO_SESSION_ALLOW: M.DENY_NO_SESSION,
                Decision.EXPLICIT_IDENTITY: M.DENY_EXPLICIT_IDENTITY,
                Decision.EXPLICIT_RESOURCE: M.DENY_EXPLICIT_RESOURCE}[self]

    def explain(self, principal: str, action: str, resource: str) -> str:
        """ECR's sentence for this denial (`User: ... is not authorized to perform: ...`)."""
        return self.message.format(principal=principal, action=action, resource=resource)


def evaluate(principal: Principal, action: str, resource: str, context: Context, *,
             identity: Iterable[Policy] = (), resource_policy: Policy | None = None,
             resource_account: str | None = None,
             session_policy: Policy | None = None) -> Decision:
    """Whether `principal` may do `action` (`ecr:PutImage`) on `resource` (an ARN or `*`).

    `identity`: the caller's identity-based policies (user, its groups; or the session's role);
    `resource_policy`: the repository's policy (None: it has none); `resource_account`: whose
    resource it is (None: the caller's own, e.g. `*` for GetAuthorizationToken)."""
    owner = resource_account or principal.account
    id_allow = id_deny = False
    if principal.kind == "root":  # the root's identity side allows everything
        id_allow = True
    else:
        for policy in identity:
            allow, deny = _scan(policy, None, action, resource, context)
            id_allow, id_deny = id_allow or allow, id_deny or deny
    session_allow = True
    if session_policy is not None:
        s_allow, s_deny = _scan(session_policy, None, action, resource, context)
        id_deny = id_deny or s_deny
        session_allow = s_allow
    res_grant: Grant | None = None
    res_deny = False
    if resource_policy is not None:
        res_grant, res_deny = _scan_resource(resource_policy, principal, action, resource,
                                             context)
    if id_deny:
        return Decision.EXPLICIT_IDENTITY
    if res_deny:
        return Decision.EXPLICIT_RESOURCE
    identity_ok = id_allow and session_allow
    if owner == principal.account:
        if identity_ok or res_grant is Grant.SPECIFIC:
            return Decision.ALLOW
        return Decision.NO_SESSION_ALLOW if id_allow else Decision.NO_IDENTITY_ALLOW
    if identity_ok and res_grant is not None:
        return Decision.ALLOW
    if not id_allow:
        return Decision.NO_IDENTITY_ALLOW
    if not session_allow:
        return Decision.NO_SESSION_ALLOW
    return Decision.NO_RESOURCE_ALLOW


def _scan(policy: Policy, principal: Principal | None, action: str, resource: str,
          context: Context) -> tuple[bool, bool]:
    allow = deny = False
    for st in policy.statements:
        if (deny or st.effect == "Allow" and allow) or not _applies(st, action, resource,
                                                                      context):
            continue
        if st.effect == "Deny":
            deny = True
        else:
            allow = True
    return allow, deny


def _scan_resource(policy: Policy, principal: Principal, action: str, resource: str,
                   context: Context) -> tuple[Grant | None, bool]:
    grant: Grant | None = None
    deny = False
    for st in policy.statements:
        named = _named(st, principal)
        if named is None or not _applies(st, action, resource, context):
            continue
        if st.effect == "Deny":
            deny = True
        elif grant is not Grant.SPECIFIC:
            grant = named
    return grant, deny


def _named(st: Statement, principal: Principal) -> Grant | None:
    if st.principal is not None:
        return _grant(st.principal, principal)
    if st.not_principal is not None:  # everyone but those named (whose account counts too)
        return None if _grant(st.not_principal, principal) else Grant.SPECIFIC
    return None


def _grant(p: Principals, principal: Principal) -> Grant | None:
    if p.wildcard:
        return Grant.SPECIFIC
    best: Grant | None = None
    for entry in p.aws:
        g = principal.named_by(entry)
        if g is Grant.SPECIFIC:
            return g
        best = best or g
    return best


def _applies(st: Statement, action: str, resource: str, context: Context) -> bool:
    if st.actions is not None:
        if not any(_action_matches(a, action) for a in st.actions):
            return False
    elif st.not_actions is not None and any(_action_matches(a, action) for a in st.not_actions):
        return False
    if st.resources is not None:
        if not any(_resource_matches(r, resource, context) for r in st.resources):
            return False
    elif st.not_resources is not None and any(
            _resource_matches(r, resource, context) for r in st.not_resources):
        return False
    return all(condition_holds(c, context) for c in st.conditions)


def _action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or bool(wildcard(pattern, True).match(action))


def _resource_matches(pattern: str, resource: str, context: Context) -> bool:
    if pattern == "*":
        return True
    if "${" in pattern:
        expanded = _substitute(pattern, context)
        return expanded is not None and bool(_like(expanded).match(resource))
    return bool(wildcard(pattern).match(resource))


def _substitute(pattern: str, context: Context) -> str | None:
    """Policy variables (`${aws:username}`): a key the request lacks makes the element match
    nothing; `${*}`, `${?}`, `${$}` stand for the characters themselves."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name == "$":
            return "$"
        if name in ("*", "?"):
            return "\0" + name  # escaped: must match the character itself, not a wildcard
        values = context.get(name.lower())
        if not values:
            missing = True
            return ""
        return values[0].replace("*", "\0*").replace("?", "\0?")

    out = _VARIABLE.sub(one, pattern)
    if missing:
        return None
    if "\0" not in out:
        return out
    # a literal '*' or '?' from a variable: split on them so wildcard() does not expand them
    return out.replace("\0*", "\x01").replace("\0?", "\x02")


# --- conditions ---------------------------------------------------------------------------

_NEGATED = frozenset({"stringnotequals", "stringnotequalsignorecase", "stringnotlike",
                      "numericnotequals", "datenotequals", "arnnotequals", "arnnotlike",
                      "notipaddress"})
_POSITIVE = {"stringnotequals": "stringequals",
             "stringnotequalsignorecase": "stringequalsignorecase",
             "stringnotlike": "stringlike", "numericnotequals": "numericequals",
             "datenotequals": "dateequals", "arnnotequals": "arnequals",
             "arnnotlike": "arnlike", "notipaddress": "ipaddress"}


def condition_holds(c: Condition, context: Context) -> bool:
    """One condition key of one operator block, as IAM evaluates it (IAM user guide,
    "Condition operators" and "Multivalued context keys")."""
    values = [v for v in context.get(c.key, ()) if v is not None]
    if c.operator == "null":
        want_absent = c.values[0].lower() == "true" if c.values else True
        return (not values) == want_absent
    if not values:
        if c.if_exists:
            return True
        if c.qualifier == "forallvalues":
            return True
        if c.qualifier == "foranyvalue":
            return False
        return c.operator in _NEGATED  # a missing key matches no value
    negated = c.operator in _NEGATED
    base = _POSITIVE.get(c.operator, c.operator)
    patterns = [_expand(v, context) for v in c.values]

    def matches(value: str) -> bool:
        return any(p is not None and _match(base, value, p) for p in patterns)

    if c.qualifier == "forallvalues":
        return all(matches(v) != negated for v in values)
    if c.qualifier == "foranyvalue":
        return any(matches(v) != negated for v in values)
    if negated:
        return not any(matches(v) for v in values)
    return any(matches(v) for v in values)


def _expand(value: str, context: Context) -> str | None:
    if "${" not in value:
        return value
    return _substitute(value, context)


def _match(op: str, value: str, pattern: str) -> bool:
    try:
        if op == "stringequals":
            return value == pattern
        if op == "stringequalsignorecase":
            return value.casefold() == pattern.casefold()
        if op == "stringlike":
            return bool(_like(pattern).match(value))
        if op == "bool":
            return value.lower() == pattern.lower()
        if op.startswith("numeric"):
            return _compare(op[len("numeric"):], float(value), float(pattern))
        if op.startswith("date"):
            return _compare(op[len("date"):], _when(value), _when(pattern))
        if op == "ipaddress":
            return ipaddress.ip_address(value) in ipaddress.ip_network(pattern, strict=False)
        if op == "arnequals":
            return _arn_match(value, pattern, like=False)
        if op == "arnlike":
            return _arn_match(value, pattern, like=True)
        if op == "binaryequals":
            return base64.b64decode(value, validate=True) == base64.b64decode(pattern,
                                                                              validate=True)
    except (ValueError, TypeError, binascii.Error, OverflowError):
        return False  # a value that cannot be compared as the operator asks does not match
    return False


def _like(pattern: str) -> re.Pattern[str]:
    if "\x01" in pattern or "\x02" in pattern:  # literal * ? from a policy variable
        parts = re.split("([\x01\x02])", pattern)
        body = "".join(re.escape({"\x01": "*", "\x02": "?"}[p]) if p in ("\x01", "\x02")
                       else wildcard(p).pattern[1:-1] for p in parts)
        return re.compile(f"^{body}$", re.DOTALL)
    return wildcard(pattern)


def _compare(op: str, a: float, b: float) -> bool:
    return {"equals": a == b, "lessthan": a < b, "lessthanequals": a <= b,
            "greaterthan": a > b, "greaterthanequals": a >= b}[op]


def _when(text: str) -> float:
    """A date as IAM reads one: ISO 8601 (with or without time and zone) or epoch seconds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and len(text) != 8:
        return float(text)
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()


def _arn_match(value: str, pattern: str, like: bool) -> bool:
    """ArnEquals/ArnLike: the six colon-separated parts match one by one (the resource part
    keeps its own colons); ArnEquals takes wildcards too (IAM user guide)."""
    vparts, pparts = value.split(":", 5), pattern.split(":", 5)
    if len(vparts) != 6 or len(pparts) != 6:
        return False
    return all(_like(p).match(v) for p, v in zip(pparts, vparts, strict=True))


def resource_grant(policy: Policy, principal: Principal, action: str, resource: str,
                   context: Context) -> tuple[Grant | None, bool]:
    """How a resource policy (a role's trust policy) names `principal` for `action`, and
    whether it explicitly denies: AssumeRole needs the trust policy's grant in every case."""
    return _scan_resource(policy, principal, action, resource, context)
