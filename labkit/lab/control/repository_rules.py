"""ECR's rules for a repository's encryption and resource tags, shared by CreateRepository,
TagResource and the repository creation templates (which give a repository its settings)."""

from __future__ import annotations

from typing import Any

from .errors import InvalidParameter, InvalidTagParameter, TooManyTags, UnsupportedKms

MAX_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256  # the model's InvalidTagParameterException documentation


def check_encryption(config: dict[str, Any] | None) -> dict[str, str]:
    """The encryption configuration to store: the lab has only AES256 (no KMS), and a kmsKey
    belongs to the KMS types only."""
    config = config or {"encryptionType": "AES256"}
    kind = config.get("encryptionType") or "AES256"
    if kind != "AES256":
        raise UnsupportedKms()
    if config.get("kmsKey"):
        raise InvalidParameter("The ECR lab refuses a kmsKey with encryptionType AES256: a KMS "
                               "key belongs to the KMS and KMS_DSSE encryption types only.")
    return {"encryptionType": "AES256"}


def check_tags(tags: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Resource tags as stored; InvalidTagParameterException for a reserved `aws:` key, an
    empty key or one over 128 characters, a value over 256; TooManyTagsException over 50."""
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if (not isinstance(key, str) or not key or len(key) > MAX_KEY
                or key.lower().startswith("aws:")
                or not isinstance(value, str) or len(value) > MAX_VALUE):
            raise InvalidTagParameter()
    if len(tags) > MAX_TAGS:
        raise TooManyTags()
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]
