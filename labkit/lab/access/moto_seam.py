"""The one module that touches moto: its IAM and STS models, in-process, as the lab's store of
users, groups, roles, policies and access keys.

moto answers the wire (query protocol, XML) through its own server apps, and the lab reads its
models only through public methods and attributes (`get_user`, `get_groups_for_user`,
`get_role`, `get_policy_version`, `.policies`, `.managed_policies`...). Nothing here patches a
moto class. Three documented moto knobs are used:

- `x-moto-account-id` (request header): which account a call acts in (moto docs, "Multi-Account
  support"); the lab sets it from the verified caller, so account B's admin creates users in B.
- `/moto-api/seed?a=N` (moto docs, "Seeding Moto"): moto's
  ids and secrets come from one seedable generator, so a journaled write replayed with its seed
  creates the same access key id and secret after a restart (see journal.py).
- `MOTO_IAM_LOAD_MANAGED_POLICIES=true` (moto docs, "IAM"; moto reads it when it first sees
  an account): AWS managed policies (AdministratorAccess,
  AmazonEC2ContainerRegistryReadOnly...) exist to be attached. moto copies all of them (about
  1,300) into each account: about 2 s and 30 MB an account. A workshop room's learner
  accounts are made with it off (`without_managed_policies`), so a room of 100 learners costs
  seconds, not minutes and gigabytes. (moto's `/moto-api/config` endpoint does not take this
  setting, so the variable it is.)

Imported lazily (about one second): the lab starts without it (tests/unit/test_ecr_model_view.py
forbids moto before the first request).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

IAM_VERSION = "2010-05-08"
MANAGED_POLICIES = "MOTO_IAM_LOAD_MANAGED_POLICIES"
DEFAULT_ACCOUNT = "123456789012"  # moto's own default (any account serves to seed)
STS_VERSION = "2011-06-15"
PARTITION = "aws"


@dataclass(frozen=True)
class Answer:
    """A wire answer: status code, headers, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class UserKey:
    account: str
    user: str
    user_id: str
    path: str
    secret: str
    active: bool


@dataclass(frozen=True)
class RoleInfo:
    account: str
    name: str
    role_id: str
    path: str
    arn: str
    trust_policy: str


@dataclass(frozen=True)
class SessionInfo:
    account: str
    role_arn: str
    session: str
    secret: str


class MotoIam:
    """moto's IAM and STS, loaded on first use; every call holds one lock (moto's seedable
    generator is process-wide, and a write and its seed must not interleave with another)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._apps: dict[str, Any] | None = None

    # --- loading and the wire -------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        if self._apps is None:
            self._managed_policies(True)
            from moto.server import create_backend_app
            from werkzeug.test import Client

            self._apps = {name: Client(create_backend_app(name))
                          for name in ("iam", "sts", "moto_api")}
        return self._apps

    @staticmethod
    def _managed_policies(load: bool) -> None:
        """Whether an account moto sees for the first time gets AWS's managed policies."""
        os.environ[MANAGED_POLICIES] = "true" if load else "false"

    @contextmanager
    def without_managed_policies(self) -> Iterator[None]:
        """Accounts first seen inside this block have no AWS managed policies (a room's)."""
        with self.lock:
            self._load()
            self._managed_policies(False)
            try:
                yield
            finally:
                self._managed_policies(True)

    @property
    def loaded(self) -> bool:
        return self._apps is not None

    def call(self, service: str, account: str, params: Mapping[str, str],
             seed: int | None = None) -> Answer:
        """One IAM or STS query call, in `account`, through moto's own response code."""
        with self.lock:
            apps = self._load()
            if seed is not None:
                self.seed(seed, account)
            body = urlencode(list(params.items()))
            host = f"{service}.amazonaws.com"
            r = apps[service].post("/", data=body, headers={
                "Host": host, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "x-moto-account-id": account})
            headers = [(k, v) for k, v in r.headers.items()
                       if k.lower() not in ("content-length", "server", "date")]
            return Answer(r.status_code, headers, r.get_data())

    def seed(self, value: int, account: str = DEFAULT_ACCOUNT) -> None:
        """Seed moto's generator. The account header matters for speed, not for the seed: a
        moto request naming no account makes moto look for its access key in every account and
        partition, creating each partition's IAM backend on the way (with the managed policies:
        0.1 s each, for every account the lab has)."""
        with self.lock:
            r = self._load()["moto_api"].post(f"/moto-api/seed?a={int(value)}",
                                              headers={"x-moto-account-id": account})
            if r.status_code != 200:
                raise RuntimeError(f"moto refused its seed: {r.status_code}")

    # --- reading the models (public methods and attributes only) ----------------------------
    @staticmethod
    def _iam(account: str) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[account][PARTITION]

    def user_key(self, key_id: str, accounts: Iterable[str]) -> UserKey | None:
        """The IAM user (in one of `accounts`) that owns long-term key `key_id`."""
        with self.lock:
            self._load()
            for account in accounts:
                backend = self._iam(account)
                user = backend.get_user_from_access_key_id(key_id)
                if user is None:
                    continue
                key = user.get_access_key_by_id(key_id)
                return UserKey(account, user.name, user.id, user.path, key.secret_access_key,
                               key.status == "Active")
        return None

    def user(self, account: str, name: str) -> tuple[str, str] | None:
        """(user id, path) of a user, or None."""
        with self.lock:
            self._load()
            from moto.iam.exceptions import IAMException

            try:
                u = self._iam(account).get_user(name)
            except IAMException:
                return None
            return u.id, u.path

    def role(self, account: str, name: str) -> RoleInfo | None:
        with self.lock:
            self._load()
            from moto.iam.exceptions import IAMException

            try:
                r = self._iam(account).get_role(name)
            except IAMException:
                return None
            doc = r.assume_role_policy_document
            return RoleInfo(account, r.name, r.id, r.path, r.arn,
                            doc if isinstance(doc, str) else json.dumps(doc))

    def session(self, account: str, key_id: str) -> SessionInfo | None:
        """A role session (STS AssumeRole) that moto issued, by its access key id."""
        with self.lock:
            self._load()
            from moto.sts.models import sts_backends

            found = sts_backends[account][PARTITION].get_assumed_role_from_access_key(key_id)
            if found is None:
                return None
            return SessionInfo(found.account_id, found.role_arn, found.session_name,
                               found.secret_access_key)

    def user_policies(self, account: str, name: str) -> list[str]:
        """The documents of a user's inline and attached policies and of its groups'."""
        with self.lock:
            self._load()
            backend = self._iam(account)
            u = backend.get_user(name)
            docs = list(u.policies.values())
            docs += [self._document(backend, arn) for arn in u.managed_policies]
            for group in backend.get_groups_for_user(name):
                docs += list(group.policies.values())
                docs += [self._document(backend, arn) for arn in group.managed_policies]
            return docs

    def role_policies(self, account: str, name: str) -> list[str]:
        with self.lock:
            self._load()
            backend = self._iam(account)
            r = backend.get_role(name)
            return list(r.policies.values()) + [self._document(backend, arn)
                                                for arn in r.managed_policies]

    @staticmethod
    def _document(backend: Any, arn: str) -> str:
        policy = backend.get_policy(arn)
        doc = backend.get_policy_version(arn, policy.default_version_id).document
        return doc if isinstance(doc, str) else json.dumps(doc)
