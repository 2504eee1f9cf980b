"""Validation of every name that comes from a request and ends up in a file path.

Repository names, tags, digests and upload ids are checked against strict grammars before any
path is built from them, so nothing a client sends can point outside the lab's home.
"""

from __future__ import annotations

import re

from ...oci import digest as dg
from . import errors

# ECR's repository name pattern as botocore's model states it today (it allows `__` and runs of
# `-`, which the older OCI-style pattern refused), 2..256 long.  The ECR API checks the same.
NAME_PATTERN = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
NAME_RE = re.compile(f"^(?:{NAME_PATTERN})$")
NAME_MIN, NAME_MAX = 2, 256
# Docker's tag grammar (max 128 characters); ECR's API and /v2/ both check it.
TAG_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
TAG_RE = re.compile(f"^{TAG_PATTERN}$")
UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_name(name: str) -> bool:
    return NAME_MIN <= len(name) <= NAME_MAX and bool(NAME_RE.match(name))


NAME_RULE = (f"{NAME_MIN} to {NAME_MAX} characters of lowercase letters, digits and separators "
             "(. _ - /), each component starting and ending with a letter or digit")


def check_name(name: str) -> str:
    """The name, or NAME_INVALID (the spec's message; the rule it breaks in `detail`)."""
    if not is_name(name):
        raise errors.NameInvalid(detail={"name": name[:300], "rule": NAME_RULE})
    return name


def is_tag(tag: str) -> bool:
    return bool(TAG_RE.match(tag))


def check_tag(tag: str) -> str:
    if not is_tag(tag):
        raise errors.TagInvalid.refused(tag)
    return tag


def check_digest(value: str) -> str:
    """The hex part of a sha256 digest, or DIGEST_INVALID (other algorithms are refused too;
    the parser's reason in `detail`)."""
    try:
        return dg.parse(value)
    except dg.InvalidDigest as e:
        raise errors.DigestInvalid(detail={"digest": (value or "")[:200],
                                           "reason": str(e)}) from None


def check_upload_id(value: str) -> str:
    if not UPLOAD_ID_RE.match(value):
        raise errors.BlobUploadUnknown.of(value[:100])
    return value
