"""Who is asking: an account's root, an IAM user, or a role session (STS AssumeRole).

A `Principal` is what policies are evaluated for and what denials print: `User: <arn> is not
authorized ...` names a user as `arn:aws:iam::ACCT:user/NAME` (with its path), a role session as
`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` (no path) and an account as
`arn:aws:iam::ACCT:root` (ecr-messages.md §1, "Disagreements" 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

ACCOUNT_RE = re.compile(r"^\d{12}$")
PARTITION = "aws"


class Grant(Enum):
    """How a resource policy's Principal names the caller: the caller itself (`*`, its ARN,
    its role's ARN) or only its account, which delegates to the account's own policies."""

    SPECIFIC = "specific"
    ACCOUNT = "account"


@dataclass(frozen=True)
class Principal:
    arn: str
    account: str
    kind: str  # "root" | "user" | "assumed-role"
    name: str  # the user's or role's name ("root" for an account)
    user_id: str  # aws:userid: AIDA... for a user, AROA...:SESSION for a session, the account
    role_arn: str | None = None  # a session's role, as IAM names it (with its path)
    session: str | None = None

    @classmethod
    def root(cls, account: str) -> Principal:
        return cls(f"arn:{PARTITION}:iam::{account}:root", account, "root", "root", account)

    @classmethod
    def user(cls, account: str, name: str, user_id: str, path: str = "/") -> Principal:
        return cls(f"arn:{PARTITION}:iam::{account}:user{_path(path)}{name}", account, "user",
                   name, user_id)

    @classmethod
    def role_session(cls, account: str, role: str, session: str, role_id: str,
                     path: str = "/") -> Principal:
        return cls(f"arn:{PARTITION}:sts::{account}:assumed-role/{role}/{session}", account,
                   "assumed-role", role, f"{role_id}:{session}",
                   f"arn:{PARTITION}:iam::{account}:role{_path(path)}{role}", session)

    @property
    def principal_arn(self) -> str:
        """aws:PrincipalArn: a session is known by its role's ARN (IAM user guide, global
        condition keys)."""
        return self.role_arn or self.arn

    @property
    def principal_type(self) -> str:
        """aws:PrincipalType."""
        return {"root": "Account", "user": "User", "assumed-role": "AssumedRole"}[self.kind]

    def named_by(self, entry: str) -> Grant | None:
        """Whether a resource policy's `"AWS": entry` names this principal, and how."""
        if entry == "*":
            return Grant.SPECIFIC
        if entry == self.account or entry == f"arn:{PARTITION}:iam::{self.account}:root":
            return Grant.ACCOUNT
        if entry == self.arn or (self.role_arn is not None and entry == self.role_arn):
            return Grant.SPECIFIC
        return None


def _path(path: str) -> str:
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    return path if path.endswith("/") else path + "/"


def account_of(entry: str) -> str | None:
    """The account a principal entry (`123456789012`, `arn:aws:iam::123456789012:...`,
    `arn:aws:sts::...`) belongs to, or None if it is not one."""
    if ACCOUNT_RE.match(entry):
        return entry
    parts = entry.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") \
            and ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None
