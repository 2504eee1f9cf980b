"""botocore failures turned into messages a learner can act on (never with a secret in them)."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from ..errors import GuidedError, taught_in


class TargetError(GuidedError):
    """A failed ECR API call, with what to do next (`hint`) and the AWS error code."""

    def __init__(self, message: str, hint: str = "", code: str = ""):
        super().__init__(message, hint)
        self.code = code


def _client_hint(code: str, name: str | None) -> str:
    repo = repr(name) if name else "'NAME'"
    hints = {
        "RepositoryNotFoundException":
            f"create it first (notebook {taught_in('create-repository')}): aws ecr create-repository "
            f"--repository-name {name or 'NAME'}",
        "RepositoryNotEmptyException":
            f"it still holds images: target.delete_repository({repo}, force=True)",
        "ImageNotFoundException": f"push the image first (notebook {taught_in('push')}), then list "
                                  "it again",
        "InvalidParameterException": "check the repository name: lowercase letters, digits, "
                                     "'.', '_', '-' and '/' only, 2 to 256 characters",
        "LimitExceededException": "clean up repositories you no longer need: target.cleanup()",
        "UnrecognizedClientException": "the AWS credentials are not valid: "
                                       "check `aws sts get-caller-identity`",
        "InvalidSignatureException": "the AWS secret key does not match the access key",
        "ExpiredTokenException": "your AWS session expired: refresh it (for example "
                                 "`aws sso login`) and try again",
        "AccessDeniedException": "your AWS identity lacks the ECR permission for this call "
                                 "(see the IAM policy in the course README)",
    }
    return hints.get(code, "")


def translate(exc: Exception, name: str | None = None, endpoint: str = "") -> TargetError:
    """One clear TargetError for any botocore failure; `name` is the repository concerned."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        message = str(err.get("Message") or exc)
        return TargetError(message, _client_hint(code, name), code)
    if isinstance(exc, EndpointConnectionError):
        return TargetError(f"nothing answers at {endpoint or 'the ECR endpoint'}",
                           "is the lab running? start it with `labkit lab up`", "Connection")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return TargetError("no AWS credentials found for LABKIT_TARGET=aws",
                           "run `aws configure` (or set AWS_PROFILE), or unset LABKIT_TARGET "
                           "to use the local lab", "NoCredentials")
    if isinstance(exc, NoRegionError):
        return TargetError("no AWS region configured",
                           "set AWS_DEFAULT_REGION or LABKIT_REGION", "NoRegion")
    return TargetError(str(exc))
