"""Who may do what, where: accounts, identities, signed requests, policies, as on AWS.

The lab's entry point is `AccessControl` (control.py); see docs/access.md. Modules, one job
each: `sigv4` (request signatures), `principals` (who), `policies` (documents: parse and
validate), `evaluate` (the IAM evaluation logic), `actions` (what a request is, in IAM's
terms), `identities` (accounts, users, roles, sessions: moto's IAM/STS behind `moto_seam`,
persisted by `journal`), `iamsts` (IAM and STS on the wire), `tokens` (registry passwords that
carry their identity), `messages` (every AWS sentence, once, with its source).

Importing this package imports neither moto nor botocore.
"""

from .control import AccessControl, AccessError, RegistryRefusal, RequestContext, Verified
from .identities import Caller, NewAccount
from .principals import Principal
from .tokens import Claims

__all__ = ["AccessControl", "AccessError", "Caller", "Claims", "NewAccount", "Principal",
           "RegistryRefusal", "RequestContext", "Verified"]
