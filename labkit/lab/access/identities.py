"""Accounts, users, roles, sessions and their policies: what the lab knows about who is asking.

The store is moto's IAM and STS models (moto_seam.py), loaded on first need, replayed from the
journal (journal.py). Until something changes identities, nothing is loaded: the default learner
(`learner`, an administrator in the lab's account, signing with the lab's dummy keys) is known
without moto, so a lab nobody configured starts and serves as fast as before.

What the lab keeps itself, beside moto: the accounts it made (id and name) and the role
sessions it issued (session token and expiry, which moto cannot reproduce after a restart).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import LAB_ACCESS_KEY, LAB_SECRET_KEY
from . import policies as P
from .journal import Journal
from .moto_seam import IAM_VERSION, Answer, MotoIam
from .principals import ACCOUNT_RE, PARTITION, Principal, account_of
from .sigv4 import SigningKey

log = logging.getLogger("labkit.lab.access")
LEARNER = "learner"
ADMIN = "admin"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [  # AdministratorAccess's
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
LEARNER_ID = "AIDALABKITLEARNER000"  # until moto is loaded; then moto's id for the user
ADMIN_POLICY = P.Policy.of([P.Statement("Allow", actions=("*",), resources=("*",))])
_ADMIN_ONLY: tuple[tuple[P.Policy, ...], None] = ((ADMIN_POLICY,), None)
BOOTSTRAP_SEED = 19_000  # the default learner's moto ids: the same in every lab
READ_PREFIXES = ("Get", "List", "Simulate", "Generate")  # IAM calls that change nothing
POLICY_PARAMS = {"PolicyDocument": P.Kind.IDENTITY, "AssumeRolePolicyDocument": P.Kind.TRUST}


@dataclass(frozen=True)
class Caller:
    """A verified access key's owner and its signing material."""

    principal: Principal
    key: SigningKey


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    name: str
    user: str
    access_key_id: str
    secret_access_key: str
    created: bool = True  # False: the account was already there (the same name asked again)

    def __repr__(self) -> str:
        return (f"NewAccount(account_id={self.account_id!r}, name={self.name!r}, "
                f"user={self.user!r}, access_key_id={self.access_key_id!r}, "
                f"secret_access_key=***, created={self.created!r})")


@dataclass(frozen=True)
class _Session:
    principal: Principal
    secret: str
    token: str
    expires_at: float
    policy: P.Policy | None


class IdentityError(Exception):
    """An IAM/STS refusal of the lab's own (query protocol): code, message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class IdentityStore:
    def __init__(self, home: Path, account: str, *, access_key: str = LAB_ACCESS_KEY,
                 secret_key: str = LAB_SECRET_KEY, clock: Callable[[], float] = time.time,
                 moto: MotoIam | None = None):
        self.account = account
        self.journal = Journal(home / "access" / "journal.jsonl")
        self.moto = moto or MotoIam()
        self._clock = clock
        self._access_key, self._secret_key = access_key, secret_key
        self._lock = threading.RLock()
        self._loaded = False
        self._loading: int | None = None  # the thread replaying the journal
        self._accounts: dict[str, str] = {account: "lab"}
        self._first_keys: dict[str, str] = {}  # account -> its administrator's first key id
        self._sessions: dict[str, _Session] = {}
        self._policies: dict[tuple[str, int], tuple[tuple[P.Policy, ...], P.Policy | None]] = {}
        self._callers: dict[tuple[str, int], Caller | None] = {}
        self.generation = 0  # bumped by every change: the key of every cache built on it
        self._journal_empty = self.journal.empty()
        for record in self.journal.records():  # cheap: names of accounts, no moto
            if record.get("kind") == "account":
                self._accounts[str(record["account"])] = str(record.get("name", ""))
                key_id = (record.get("expect") or {}).get("AccessKeyId")
                if key_id:
                    self._first_keys[str(record["account"])] = str(key_id)

    # --- who --------------------------------------------------------------------------------
    @property
    def default_principal(self) -> Principal:
        if not self._loaded:
            return Principal.user(self.account, LEARNER, LEARNER_ID)
        found = self.moto.user(self.account, LEARNER)
        return Principal.user(self.account, LEARNER, found[0] if found else LEARNER_ID,
                              found[1] if found else "/")

    @property
    def default_access_key(self) -> str:
        return self._access_key

    def accounts(self) -> dict[str, str]:
        return dict(self._accounts)

    def caller(self, access_key_id: str) -> Caller | None:
        """The owner of an access key (any account), or None if no such active key exists."""
        cache_key = (access_key_id, self.generation)
        if cache_key in self._callers:
            return self._callers[cache_key]
        found = self._find_caller(access_key_id)
        if len(self._callers) > 4096:
            self._callers.clear()
        self._callers[cache_key] = found
        return found

    def _find_caller(self, key_id: str) -> Caller | None:
        if key_id == self._access_key:
            if self._loaded and self.moto.user(self.account, LEARNER) is None:
                return None  # the learner's user was deleted: its key went with it
            return Caller(self.default_principal, SigningKey(self._secret_key))
        if not key_id.isalnum() or len(key_id) > 128:
            return None
        self.ensure_loaded()
        session = self._sessions.get(key_id)
        if session is not None:
            return Caller(session.principal, SigningKey(session.secret, session.token,
                                                        session.expires_at))
        found = self.moto.user_key(key_id, list(self._accounts))
        if found is None or not found.active:
            return None
        return Caller(Principal.user(found.account, found.user, found.user_id, found.path),
                      SigningKey(found.secret))

    def signing_key(self, access_key_id: str) -> SigningKey | None:
        caller = self.caller(access_key_id)
        return caller.key if caller else None

    # --- their policies ---------------------------------------------------------------------
    def policies(self, principal: Principal) -> tuple[tuple[P.Policy, ...], P.Policy | None]:
        """(identity-based policies, session policy) of a principal."""
        if principal.kind == "root":
            return (), None
        if not self._loaded and principal.account == self.account \
                and principal.name == LEARNER and principal.kind == "user":
            if self._journal_empty:
                return _ADMIN_ONLY
            self.ensure_loaded()
        cache_key = (principal.arn, self.generation)
        found = self._policies.get(cache_key)
        if found is None:
            found = self._load_policies(principal)
            if len(self._policies) > 4096:
                self._policies.clear()
            self._policies[cache_key] = found
        return found

    def _load_policies(self, principal: Principal) -> tuple[tuple[P.Policy, ...],
                                                            P.Policy | None]:
        self.ensure_loaded()
        session_policy = None
        if principal.kind == "assumed-role":
            docs = self._try(lambda: self.moto.role_policies(principal.account, principal.name))
            session = next((s for s in self._sessions.values()
                            if s.principal.arn == principal.arn), None)
            session_policy = session.policy if session else None
        else:
            docs = self._try(lambda: self.moto.user_policies(principal.account, principal.name))
        parsed = []
        for doc in docs:
            try:
                parsed.append(P.parse(doc, P.Kind.IDENTITY))
            except P.PolicyError as e:  # the lab validated it on the way in; moto's own ones?
                log.warning("ignoring a policy of %s the evaluator cannot read: %s",
                            principal.arn, e.message)
        return tuple(parsed), session_policy

    def _try(self, read: Callable[[], list[str]]) -> list[str]:
        try:
            return read()
        except Exception as e:  # noqa: BLE001 - a deleted user/role: it has no policies left
            if type(e).__module__.startswith("moto."):
                return []
            raise

    def principal_exists(self, entry: str) -> bool:
        """Whether a policy's `"AWS": entry` names something that exists in the lab."""
        account = account_of(entry)
        if account is None or account not in self._accounts:
            return False
        if ACCOUNT_RE.match(entry) or entry == f"arn:{PARTITION}:iam::{account}:root":
            return True
        kind, _, rest = entry.split(":", 5)[5].partition("/")
        name = rest.rsplit("/", 1)[-1]
        if kind == "user":
            if account == self.account and name == LEARNER and not self._loaded \
                    and self._journal_empty:
                return True
            self.ensure_loaded()
            return self.moto.user(account, name) is not None
        if kind in ("role", "assumed-role"):
            self.ensure_loaded()
            role_name = rest.split("/")[0] if kind == "assumed-role" else name
            return self.moto.role(account, role_name) is not None
        return False

    def role(self, arn: str) -> Any:
        """moto's view of a role by ARN (None if it does not exist)."""
        account = account_of(arn)
        if account is None or ":role/" not in arn:
            return None
        self.ensure_loaded()
        info = self.moto.role(account, arn.rsplit("/", 1)[-1])
        return info if info is not None and info.arn == arn else None

    # --- loading and replay -----------------------------------------------------------------
    def ensure_loaded(self) -> None:
        """Load moto, make the default learner, replay the journal (once). Reads made while
        replaying (a session's role) see the state replayed so far."""
        if self._loaded or self._loading == threading.get_ident():
            return
        with self._lock:
            if self._loaded:
                return
            self._loading = threading.get_ident()
            try:
                self._load()
            finally:
                self._loading = None

    def _load(self) -> None:
        started = time.monotonic()
        self._bootstrap(self.account, LEARNER, BOOTSTRAP_SEED, with_key=False)
        replayed = 0
        for record in self.journal.records():
            try:
                self._replay(record)
                replayed += 1
            except Exception:  # noqa: BLE001 - one bad line must not lose the others
                log.exception("identity journal: could not replay %s",
                              record.get("params", {}).get("Action", record.get("kind")))
        self._loaded = True
        self.generation += 1
        log.info("identities loaded: %d journal entries in %.2fs", replayed,
                 time.monotonic() - started)

    def _replay(self, record: dict[str, Any]) -> None:
        kind = record.get("kind")
        if kind == "account":
            key_id, _ = self._bootstrap(record["account"], ADMIN, int(record["seed"]),
                                        managed=bool(record.get("managed_policies", True)))
            self._check(record, key_id)
        elif kind == "iam":
            answer = self.moto.call("iam", record["account"], record["params"], record["seed"])
            self._check(record, _find(answer.body, "AccessKeyId") if answer.ok else None)
        elif kind == "sts":
            session = record.get("session") or {}
            if float(session.get("expires_at", 0)) <= self._clock():
                return  # an ended session: nothing to restore
            answer = self.moto.call("sts", record["account"], record["params"], record["seed"])
            if answer.ok:
                self._remember_session(answer, record["params"], session["token"],
                                       float(session["expires_at"]))
            self._check(record, _find(answer.body, "AccessKeyId") if answer.ok else None)

    @staticmethod
    def _check(record: dict[str, Any], key_id: str | None) -> None:
        expected = (record.get("expect") or {}).get("AccessKeyId")
        if expected and expected != key_id:
            log.warning("identity journal: replay made access key %s, not %s (did moto change? "
                        "the learner must create a new key)", key_id, expected)

    def _bootstrap(self, account: str, user: str, seed: int, with_key: bool = True,
                   managed: bool = True) -> tuple[str | None, str | None]:
        """An account's first user, an administrator (and its access key). `managed` False: an
        account without AWS's managed policies (a room's learner: moto_seam.py says why),
        whose administrator's power is an inline policy of the same name and document."""
        create = {"Action": "CreateUser", "UserName": user, "Version": IAM_VERSION}
        if managed:
            created = self.moto.call("iam", account, create, seed)
        else:
            with self.moto.without_managed_policies():
                created = self.moto.call("iam", account, create, seed)
        if not created.ok:  # already there (a second store in one process): leave it
            return None, None
        if managed:
            self.moto.call("iam", account, {"Action": "AttachUserPolicy", "UserName": user,
                                            "PolicyArn": ADMIN_POLICY_ARN,
                                            "Version": IAM_VERSION}, seed + 1)
        else:
            self.moto.call("iam", account, {"Action": "PutUserPolicy", "UserName": user,
                                            "PolicyName": "AdministratorAccess",
                                            "PolicyDocument": ADMIN_DOCUMENT,
                                            "Version": IAM_VERSION}, seed + 1)
        if not with_key:
            return None, None
        key = self.moto.call("iam", account, {"Action": "CreateAccessKey", "UserName": user,
                                              "Version": IAM_VERSION}, seed + 2)
        return _find(key.body, "AccessKeyId"), _find(key.body, "SecretAccessKey")

    # --- changes ----------------------------------------------------------------------------
    def _journal(self, record: dict[str, Any]) -> None:
        self.journal.append(record)
        self._journal_empty = False

    def create_account(self, name: str, managed_policies: bool = True) -> NewAccount:
        """A new account whose user `admin` is an administrator; its access key and secret.

        Asking again for a name that exists gives that account and its administrator's first
        key (`created` False), so a notebook cell that makes an account can run twice.
        `managed_policies` False: without AWS's managed policies (a workshop room's learner:
        milliseconds and kilobytes instead of seconds and megabytes; see _bootstrap)."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 50 or not name.isprintable():
            raise IdentityError("ValidationError",
                                "An account name is 1 to 50 printable characters.")
        with self._lock:
            self.ensure_loaded()
            existing = self._existing(name)
            if existing is not None:
                return existing
            account = self._new_account_id()
            seed = secrets.randbits(30)
            key_id, secret = self._bootstrap(account, ADMIN, seed, managed=managed_policies)
            if not key_id or not secret:
                raise IdentityError("ServiceFailure", "The lab could not create the account's "
                                    "administrator.", 500)
            self._journal({"kind": "account", "account": account, "name": name,
                           "seed": seed, "expect": {"AccessKeyId": key_id},
                           "managed_policies": managed_policies, "at": self._clock()})
            self._accounts[account] = name
            self._first_keys[account] = key_id
            self.generation += 1
            return NewAccount(account, name, ADMIN, key_id, secret)

    def _existing(self, name: str) -> NewAccount | None:
        """The account called `name` with its administrator's first key, if there is one."""
        account = next((a for a, n in self._accounts.items() if n == name), None)
        if account is None:
            return None
        if account == self.account:
            raise IdentityError("ValidationError", f"{name} is the name of the lab's own "
                                f"account ({account}, yours): choose another name.")
        found = self.moto.user_key(self._first_keys.get(account, ""), [account])
        if found is None or not found.active or found.user != ADMIN:
            raise IdentityError("EntityAlreadyExists", f"An account named {name} exists "
                                f"({account}), but the access key it was made with is gone "
                                f"or inactive: act as one of its identities, or choose "
                                "another name.")
        return NewAccount(account, name, ADMIN, self._first_keys[account], found.secret,
                          created=False)

    def _new_account_id(self) -> str:
        while True:
            account = f"{secrets.randbelow(9 * 10 ** 11) + 10 ** 11}"
            if account not in self._accounts:
                return account

    def iam(self, caller: Principal, params: Mapping[str, str]) -> Answer:
        """One IAM call by `caller` (already authorized), in the caller's account; writes are
        journaled with their seed."""
        params = dict(params)
        for name, kind in POLICY_PARAMS.items():
            if name in params:
                try:
                    P.parse(params[name], kind)
                except P.PolicyError as e:
                    raise IdentityError(e.code, e.message) from None
        action = params.get("Action", "")
        write = not action.startswith(READ_PREFIXES)
        with self._lock:
            self.ensure_loaded()
            seed = secrets.randbits(30) if write else None
            answer = self.moto.call("iam", caller.account, params, seed)
            if write and answer.ok:
                expect = {"AccessKeyId": _find(answer.body, "AccessKeyId")} \
                    if action == "CreateAccessKey" else {}
                self._journal({"kind": "iam", "account": caller.account, "params": params,
                                     "seed": seed, "expect": expect, "at": self._clock()})
                self.generation += 1
            return answer

    def assume_role(self, role: Any, params: Mapping[str, str]) -> Answer:
        """STS AssumeRole of `role` (authorized by the caller): moto makes the keys, the lab
        keeps the session (token, expiry, session policy) and journals it."""
        params = dict(params)
        session_policy = None
        if params.get("Policy"):
            try:
                session_policy = P.parse(params["Policy"], P.Kind.IDENTITY)
            except P.PolicyError as e:
                raise IdentityError(e.code, e.message) from None
        try:
            duration = int(params.get("DurationSeconds") or 3600)
        except ValueError:
            duration = -1
        if not 900 <= duration <= 43200:
            raise IdentityError("ValidationError", "1 validation error detected: Value "
                                f"'{params.get('DurationSeconds')}' at 'durationSeconds' failed "
                                "to satisfy constraint: Member must have value greater than or "
                                "equal to 900")
        with self._lock:
            seed = secrets.randbits(30)
            answer = self.moto.call("sts", role.account, params, seed)
            if not answer.ok:
                return answer
            expires_at = self._clock() + duration
            token = _find(answer.body, "SessionToken") or ""
            self._remember_session(answer, params, token, expires_at, session_policy)
            self._journal({"kind": "sts", "account": role.account, "params": params,
                                 "seed": seed,
                                 "expect": {"AccessKeyId": _find(answer.body, "AccessKeyId")},
                                 "session": {"token": token, "expires_at": expires_at},
                                 "at": self._clock()})
            self.generation += 1
            return answer

    def _remember_session(self, answer: Answer, params: Mapping[str, str], token: str,
                          expires_at: float, policy: P.Policy | None = None) -> None:
        key_id = _find(answer.body, "AccessKeyId")
        secret = _find(answer.body, "SecretAccessKey")
        role = self.role(params.get("RoleArn", ""))
        if not key_id or not secret or role is None:
            return
        if policy is None and params.get("Policy"):
            try:
                policy = P.parse(params["Policy"], P.Kind.IDENTITY)
            except P.PolicyError:
                policy = None
        principal = Principal.role_session(role.account, role.name,
                                           params.get("RoleSessionName", ""), role.role_id,
                                           role.path)
        self._sessions[key_id] = _Session(principal, secret, token, expires_at, policy)


def _find(body: bytes, tag: str) -> str | None:
    """The text of the first element named `tag` in an XML answer (namespaces ignored)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == tag:
            return el.text
    return None


__all__ = ["Caller", "IdentityError", "IdentityStore", "NewAccount"]
