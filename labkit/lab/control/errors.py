"""The ECR API's errors: one named type per ECR exception the lab answers, each with ECR's
exception name (`code`, what botocore maps to its modeled exception) and its message, written
here once.

Where the words are ECR's, their source is in tests/fixtures/ecr_messages.json (observed on the
wire, or the exception's documentation in botocore's model when that is ECR's only published
sentence for it).  Sentences ECR says on `/v2/` too are the registry's templates
(registry/errors.py), used here, not copied.  Where no source exists the lab speaks in its own
voice ("The ECR lab ..."), never as ECR.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..registry import errors as registry_words

# ECR's form for a request member that breaks a rule (aws/aws-cli#8620, fujiwara/ecrm#3, ...).
CONSTRAINT = "Invalid parameter at '{field}' failed to satisfy constraint: '{rule}'"


class EcrError(Exception):
    """An ECR API error: `code` is the exception name, `message` its text, `status` the HTTP
    status; `extra` members go into the error body beside them (InvalidLayerPartException's)."""

    code: ClassVar[str] = "ServerException"
    status: ClassVar[int] = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def __str__(self) -> str:  # logs and wrapped messages name the exception too
        return f"{self.code}: {self.message}"


# ---- the request itself ---------------------------------------------------------------------
class SerializationError(EcrError):
    code = "SerializationException"

    def __init__(self) -> None:
        super().__init__("The ECR lab could not read the request body as JSON.")


class UnknownOperation(EcrError):
    code = "UnknownOperationException"

    def __init__(self, action: str):
        super().__init__(f"The ECR lab knows no ECR operation named '{action[:100]}' (botocore's "
                         "ECR model has none).")


class InvalidParameter(EcrError):
    """ECR's InvalidParameterException; `constraint()` builds ECR's usual sentence."""

    code = "InvalidParameterException"

    @classmethod
    def constraint(cls, field: str, rule: str) -> InvalidParameter:
        return cls(CONSTRAINT.format(field=field, rule=rule))

    @classmethod
    def unspecified(cls) -> InvalidParameter:
        """The model's sentence, for a parameter ECR's wire text is not on record for."""
        return cls("The specified parameter is invalid. Review the available parameters for the "
                   "API request.")


class ManifestNotReadable(InvalidParameter):
    """PutImage with a manifest ECR cannot read, or one naming no mediaType."""

    def __init__(self) -> None:
        super().__init__(registry_words.MANIFEST_NOT_READABLE)


class InvalidArn(InvalidParameter):
    def __init__(self) -> None:  # boto/boto3#2774
        super().__init__("The ARN provided is invalid.")


class ValidationError(EcrError):
    code = "ValidationException"


class Unsupported(EcrError):
    """What the lab does not do (it has no upstream registries, no other regions...): said in
    the lab's voice, with the exception ECR would raise for the request."""

    code = "ValidationException"

    def __init__(self, operation: str, why: str):
        super().__init__(f"The ECR lab does not support {operation}: {why} "
                         "It works on real Amazon ECR.")


class UnsupportedUpstreamRegistry(Unsupported):
    code = "UnsupportedUpstreamRegistryException"

    def __init__(self) -> None:
        super().__init__("pull through cache rules", "the lab works offline and cannot reach "
                         "an upstream registry.")


class UnsupportedKms(Unsupported):
    code = "InvalidParameterException"

    def __init__(self) -> None:
        super().__init__("KMS encryption", "the lab has no KMS; its storage is plain files on "
                         "your disk.")


class ServerError(EcrError):
    code, status = "ServerException", 500

    def __init__(self, action: str):
        super().__init__(f"The ECR lab failed on {action}; see the lab's log (labkit lab logs).")


class LimitExceeded(EcrError):
    """The model's sentence (the wire text of a second StartImageScan within 24 hours is not on
    record; aws/containers-roadmap#1226 only says it reads like throttling)."""

    code = "LimitExceededException"

    def __init__(self) -> None:
        super().__init__("The operation did not succeed because it would have exceeded a service "
                         "limit for your account. For more information, see Amazon ECR service "
                         "quotas in the Amazon Elastic Container Registry User Guide.")


# ---- repositories ---------------------------------------------------------------------------
class RepositoryNotFound(EcrError):
    code = "RepositoryNotFoundException"

    def __init__(self, name: str, registry_id: str):
        super().__init__(registry_words.REPOSITORY_NOT_FOUND.format(name=name,
                                                                    registry_id=registry_id))


class RepositoryAlreadyExists(EcrError):
    code = "RepositoryAlreadyExistsException"

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"The repository with name '{name}' already exists in the registry "
                         f"with id '{registry_id}'")


class RepositoryNotEmpty(EcrError):
    code = "RepositoryNotEmptyException"

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"The repository with name '{name}' in registry with id "
                         f"'{registry_id}' cannot be deleted because it still contains images")


class RepositoryPolicyNotFound(EcrError):
    code = "RepositoryPolicyNotFoundException"

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"Repository policy does not exist for the repository with name "
                         f"'{name}' in the registry with id '{registry_id}'")


class InvalidTagParameter(EcrError):
    code = "InvalidTagParameterException"

    def __init__(self) -> None:
        super().__init__("An invalid parameter has been specified. Tag keys can have a maximum "
                         "character length of 128 characters, and tag values can have a maximum "
                         "length of 256 characters.")


class TooManyTags(EcrError):
    code = "TooManyTagsException"

    def __init__(self) -> None:
        super().__init__("The list of tags on the repository is over the limit. The maximum "
                         "number of tags that can be applied to a repository is 50.")


# ---- lifecycle policies ---------------------------------------------------------------------
class LifecyclePolicyNotFound(EcrError):
    code = "LifecyclePolicyNotFoundException"

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"Lifecycle policy does not exist for the repository with name "
                         f"'{name}' in the registry with id '{registry_id}'")


class LifecyclePolicyPreviewNotFound(EcrError):
    code = "LifecyclePolicyPreviewNotFoundException"

    def __init__(self) -> None:
        super().__init__("There is no dry run for this repository.")


# ---- images ---------------------------------------------------------------------------------
def image_id_text(image_id: dict[str, Any]) -> str:
    return (f"{{imageDigest:'{image_id.get('imageDigest', 'null')}', "
            f"imageTag:'{image_id.get('imageTag', 'null')}'}}")


class ImageNotFound(EcrError):
    code = "ImageNotFoundException"

    def __init__(self, image_id: dict[str, Any], name: str, registry_id: str):
        super().__init__(f"The image with imageId {image_id_text(image_id)} does not exist "
                         f"within the repository with name '{name}' in the registry with id "
                         f"'{registry_id}'")


class ImageAlreadyExists(EcrError):
    code = "ImageAlreadyExistsException"

    def __init__(self, digest: str, tag: str | None, name: str, registry_id: str):
        shown = f"and tag '{tag}' " if tag else ""
        super().__init__(f"Image with digest '{digest}' {shown}already exists in the repository "
                         f"with name '{name}' in registry with id '{registry_id}'")


class ImageTagAlreadyExists(EcrError):
    """PutImage's wire text is not on record; ECR's sentence for the same refusal on /v2/."""

    code = "ImageTagAlreadyExistsException"

    def __init__(self, name: str, tag: str):
        super().__init__(registry_words.TAG_IMMUTABLE.format(tag=tag, name=name))


class ImageDigestDoesNotMatch(EcrError):
    code = "ImageDigestDoesNotMatchException"

    def __init__(self, digest: str, name: str, registry_id: str):
        super().__init__(registry_words.DIGEST_MISMATCH.format(digest=digest, name=name,
                                                               registry_id=registry_id))


class ReferencedImagesNotFound(EcrError):
    code = "ReferencedImagesNotFoundException"

    def __init__(self, digests: list[str], name: str, registry_id: str):
        super().__init__(registry_words.IMAGES_MISSING.format(
            digests=", ".join(digests), name=name, registry_id=registry_id))


class ScanNotFound(EcrError):
    code = "ScanNotFoundException"

    def __init__(self) -> None:
        super().__init__("The specified image scan could not be found. Ensure that image "
                         "scanning is enabled on the repository and try again.")


class ImageStorageClassUpdateNotSupported(Unsupported):
    code = "ImageStorageClassUpdateNotSupportedException"

    def __init__(self) -> None:
        super().__init__("archiving images", "the lab keeps every image in one storage class.")


# ---- layers ---------------------------------------------------------------------------------
class LayersNotFound(EcrError):
    code = "LayersNotFoundException"

    @classmethod
    def for_push(cls, digests: list[str], name: str, registry_id: str) -> LayersNotFound:
        """PutImage's wire text is not on record: ECR's sentence for the same refusal on /v2/."""
        return cls(registry_words.LAYERS_MISSING.format(
            digests=", ".join(digests), name=name, registry_id=registry_id))

    @classmethod
    def for_download(cls, digest: str, name: str, registry_id: str) -> LayersNotFound:
        """GetDownloadUrlForLayer, as pasted in monken/aws-ecr-public#11 (double space and
        unbalanced quote included)."""
        return cls(f"The layer with digest {digest}  does not exist within the repository with "
                   f"name '{name} in the registry with id '{registry_id}'")


class LayerInaccessible(EcrError):
    code = "LayerInaccessibleException"

    def __init__(self) -> None:
        super().__init__("The specified layer is not available because it is not associated "
                         "with an image. Unassociated image layers may be cleaned up at any "
                         "time.")


class LayerAlreadyExists(EcrError):
    code = "LayerAlreadyExistsException"

    def __init__(self) -> None:
        super().__init__("The image layer already exists in the associated repository.")


class LayerPartTooSmall(EcrError):
    code = "LayerPartTooSmallException"

    def __init__(self) -> None:  # dotnet/sdk-container-builds#424 (CloudTrail)
        super().__init__("All layer parts except the last part should be at least 5MB")


class InvalidLayerPart(EcrError):
    code = "InvalidLayerPartException"
    MODEL = ("The layer part size is not valid, or the first byte specified is not consecutive "
             "to the last byte of a previous layer part upload.")

    @classmethod
    def out_of_order(cls, first: int, expected: int, **extra: Any) -> InvalidLayerPart:
        """ECR's sentence for the same refusal on /v2/ (registry.blob-upload-out-of-order)."""
        return cls(registry_words.CHUNK_OUT_OF_ORDER.format(first_byte=first,
                                                            expected_byte=expected), **extra)

    @classmethod
    def size(cls, **extra: Any) -> InvalidLayerPart:
        return cls(cls.MODEL, **extra)


class InvalidLayer(EcrError):
    code = "InvalidLayerException"

    def __init__(self) -> None:
        super().__init__("The layer digest calculation performed by Amazon ECR upon receipt of "
                         "the image layer does not match the digest specified.")


class EmptyUpload(EcrError):
    code = "EmptyUploadException"

    def __init__(self) -> None:
        super().__init__("The specified layer upload does not contain any layer parts.")


class UploadNotFound(EcrError):
    code = "UploadNotFoundException"

    def __init__(self) -> None:
        super().__init__("The upload could not be found, or the specified upload ID is not "
                         "valid for this repository.")


# ---- the registry's settings ----------------------------------------------------------------
class RegistryPolicyNotFound(EcrError):
    code = "RegistryPolicyNotFoundException"

    def __init__(self) -> None:
        super().__init__("The registry doesn't have an associated registry policy.")


class ExclusionAlreadyExists(EcrError):
    code = "ExclusionAlreadyExistsException"

    def __init__(self) -> None:
        super().__init__("The specified pull time update exclusion already exists for the "
                         "registry.")


class ExclusionNotFound(EcrError):
    code = "ExclusionNotFoundException"

    def __init__(self) -> None:
        super().__init__("The specified pull time update exclusion was not found.")


class PullThroughCacheRuleNotFound(EcrError):
    code = "PullThroughCacheRuleNotFoundException"

    def __init__(self) -> None:
        super().__init__("The pull through cache rule was not found. Specify a valid pull "
                         "through cache rule and try again.")


class SigningConfigurationNotFound(EcrError):
    code = "SigningConfigurationNotFoundException"

    def __init__(self) -> None:
        super().__init__("The specified signing configuration was not found. This occurs when "
                         "attempting to retrieve or delete a signing configuration that does "
                         "not exist.")


# ---- repository creation templates ----------------------------------------------------------
class TemplateNotFound(EcrError):
    code = "TemplateNotFoundException"

    def __init__(self) -> None:
        super().__init__("The specified repository creation template can't be found. Verify "
                         "the registry ID and prefix and try again.")


class TemplateAlreadyExists(EcrError):
    code = "TemplateAlreadyExistsException"

    def __init__(self) -> None:
        super().__init__("The repository creation template already exists. Specify a unique "
                         "prefix and try again.")
