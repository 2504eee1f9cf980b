"""ECR API errors: one exception type with ECR's exception name and message, plus builders for
the messages ECR uses (worded as the ECR API reference and real ECR answers them)."""

from __future__ import annotations

from typing import Any


class EcrError(Exception):
    """An ECR API error: `code` is the exception name botocore maps to a modeled exception."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


class ModuleError(EcrError):
    """An EcrError raised by the lab's own policy modules (lifecycle, templates), which are also
    used outside a request: its str() names the exception too, for logs and wrapped messages."""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def invalid_parameter(message: str) -> EcrError:
    return EcrError("InvalidParameterException", message)


def constraint(field: str, rule: str) -> EcrError:
    """ECR's wording for a request member that breaks a rule of its model."""
    return invalid_parameter(f"Invalid parameter at '{field}' failed to satisfy constraint: "
                             f"'{rule}'")


def validation(field: str, value: Any, rule: str) -> EcrError:
    shown = "null" if value is None else str(value)[:300]
    return EcrError("ValidationException", f"1 validation error detected: Value '{shown}' at "
                    f"'{field}' failed to satisfy constraint: {rule}")


def repository_not_found(name: str, registry_id: str) -> EcrError:
    return EcrError("RepositoryNotFoundException",
                    f"The repository with name '{name}' does not exist in the registry "
                    f"with id '{registry_id}'")


def repository_exists(name: str, registry_id: str) -> EcrError:
    return EcrError("RepositoryAlreadyExistsException",
                    f"The repository with name '{name}' already exists in the registry "
                    f"with id '{registry_id}'")


def image_id_text(image_id: dict[str, Any]) -> str:
    return (f"{{imageDigest:'{image_id.get('imageDigest', 'null')}', "
            f"imageTag:'{image_id.get('imageTag', 'null')}'}}")


def image_not_found(image_id: dict[str, Any], name: str, registry_id: str) -> EcrError:
    return EcrError("ImageNotFoundException",
                    f"The image with imageId {image_id_text(image_id)} does not exist within "
                    f"the repository with name '{name}' in the registry with id '{registry_id}'")


def image_tag_already_exists(name: str, tag: str) -> EcrError:
    return EcrError("ImageTagAlreadyExistsException",
                    f"The image tag '{tag}' already exists in the '{name}' repository and "
                    "cannot be overwritten because the repository is immutable.")


def unsupported(operation: str, why: str, code: str = "ValidationException") -> EcrError:
    """What the lab does not do (it has no upstream registries, no other regions...)."""
    return EcrError(code, f"The ECR lab does not support {operation}: {why} "
                    "It works on real Amazon ECR.")
