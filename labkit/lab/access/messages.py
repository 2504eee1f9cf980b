"""Every message the access engine gives as AWS's, written once, each with where it was seen.

Each `Message` is a template (`str.format` fields in braces) with the error code it travels
with on each protocol: ECR's JSON 1.1 protocol names codes `...Exception`, IAM and STS's query
protocol names them without the suffix (ecr-messages.md, "Disagreements" 2). The source of each
is in a comment beside it AND in `tests/fixtures/ecr_messages_access.json`, whose test renders
each template against the text seen at the source.
"""

from __future__ import annotations

import string
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    key: str
    template: str
    json_code: str | None  # ECR (JSON 1.1) exception name
    query_code: str | None  # IAM/STS (query protocol) error code
    json_status: int = 400
    query_status: int = 403

    def format(self, **fields: object) -> str:
        return self.template.format(**fields)

    @property
    def fields(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.template) if f]


def _m(key: str, template: str, json_code: str | None, query_code: str | None,
       json_status: int = 400, query_status: int = 403) -> Message:
    msg = Message(key, template, json_code, query_code, json_status, query_status)
    CATALOG[key] = msg
    return msg


CATALOG: dict[str, Message] = {}

# --- authentication (signed requests) -------------------------------------------------------
# https://github.com/aws/aws-sdk-php/issues/1114 (ECR raw body, 400);
# https://github.com/kciter/aws-ecr-action/issues/15 (CLI); STS: InvalidClientTokenId (403)
UNRECOGNIZED_CLIENT = _m(
    "unrecognized_client", "The security token included in the request is invalid.",
    "UnrecognizedClientException", "InvalidClientTokenId")
# https://github.com/teralytics/prometheus-ecs-discovery/issues/7 (JSON family, 400);
# https://github.com/aws/aws-sdk-java/issues/2413 (STS SignatureDoesNotMatch, 403)
INVALID_SIGNATURE = _m(
    "invalid_signature",
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.",
    "InvalidSignatureException", "SignatureDoesNotMatch")
# https://github.com/jenkinsci/amazon-ecr-plugin/issues/199 (ECR, 400)
MISSING_TOKEN = _m(
    "missing_token", "Missing Authentication Token",
    "MissingAuthenticationTokenException", "MissingAuthenticationToken")
# https://github.com/aws/chalice/issues/828 ; https://github.com/aws/aws-sdk-ruby/issues/317 ;
# query code: https://github.com/brendanhay/amazonka/issues/316 (IncompleteSignature, 400)
INCOMPLETE_HEADER = _m(
    "incomplete_header", "{missing}Authorization={header}",
    "IncompleteSignatureException", "IncompleteSignature", 400, 400)
REQUIRES_CREDENTIAL = "Authorization header requires 'Credential' parameter. "
REQUIRES_SIGNATURE = "Authorization header requires 'Signature' parameter. "
REQUIRES_SIGNED_HEADERS = "Authorization header requires 'SignedHeaders' parameter. "
REQUIRES_DATE = ("Authorization header requires existence of either a 'X-Amz-Date' or a "
                 "'Date' header. ")
# https://github.com/iann0036/cloud9-sync/issues/10 (JSON) ; https://github.com/aws/aws-sdk-go/issues/289
NOT_KEY_VALUE = _m(
    "not_key_value",
    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: "
    "'{header}'.",
    "IncompleteSignatureException", "IncompleteSignature", 400, 400)
# https://github.com/aws/aws-cli/issues/2574 (ECR GetAuthorizationToken)
CREDENTIAL_PARTS = _m(
    "credential_parts",
    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term,"
    " got '{credential}'",
    "IncompleteSignatureException", "IncompleteSignature", 400, 400)
# https://github.com/upmc-enterprises/registry-creds/issues/47 (ECR, InvalidSignatureException)
SIGNATURE_EXPIRED = _m(
    "signature_expired",
    "Signature expired: {signed} is now earlier than {earliest} ({now} - {window} min.)",
    "InvalidSignatureException", "SignatureDoesNotMatch")
# https://github.com/serverless/enterprise/issues/11 (that service allows 5 min., ECR 15)
SIGNATURE_NOT_YET = _m(
    "signature_not_yet_current",
    "Signature not yet current: {signed} is still later than {latest} ({now} + {window} min.)",
    "InvalidSignatureException", "SignatureDoesNotMatch")
# https://github.com/cllunsford/aws-signing-proxy/issues/25 (note the trailing space)
SCOPE_SERVICE = _m(
    "scope_service", "Credential should be scoped to correct service: '{service}'. ",
    "InvalidSignatureException", "SignatureDoesNotMatch")
# https://github.com/aws/aws-sdk-ruby/issues/508 ; https://github.com/aws/aws-sdk-php/issues/732
# (SignatureDoesNotMatch, 403)
SCOPE_REGION = _m(
    "scope_region", "Credential should be scoped to a valid region, not '{region}'. ",
    "InvalidSignatureException", "SignatureDoesNotMatch")
# https://github.com/cloud-custodian/cloud-custodian/issues/9216 (JSON family);
# https://github.com/miquella/vaulted/issues/107 (STS ExpiredToken)
EXPIRED_TOKEN = _m(
    "expired_token", "The security token included in the request is expired",
    "ExpiredTokenException", "ExpiredToken")

# --- authorization denials ----------------------------------------------------------------
# Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
# ECR, implicit identity: https://github.com/ministryofjustice/modernisation-platform-environments/pull/10067
# HTTP 400 on ECR's JSON API: https://github.com/terraform-aws-modules/terraform-aws-iam/issues/514
DENY_NO_IDENTITY = _m(
    "deny_no_identity_policy",
    "User: {principal} is not authorized to perform: {action} on resource: {resource} because "
    "no identity-based policy allows the {action} action",
    "AccessDeniedException", "AccessDenied")
# https://github.com/aws-actions/amazon-ecr-login/issues/232 (cross-account docker push)
DENY_NO_RESOURCE = _m(
    "deny_no_resource_policy",
    "User: {principal} is not authorized to perform: {action} on resource: {resource} because "
    "no resource-based policy allows the {action} action",
    "AccessDeniedException", "AccessDenied")
# https://github.com/chenyuxiangAK47/k8s-observability-platform (docs/FIX_EXPLICIT_DENY_ECR.md);
# https://github.com/terraform-aws-modules/terraform-aws-eks/issues/2517 (IAM, AccessDenied 403)
DENY_EXPLICIT_IDENTITY = _m(
    "deny_explicit_identity_policy",
    "User: {principal} is not authorized to perform: {action} on resource: {resource} with an "
    "explicit deny in an identity-based policy",
    "AccessDeniedException", "AccessDenied")
# https://github.com/aws-samples/amazon-eks-security-immersion-day (3-ecr-repository-policies)
DENY_EXPLICIT_RESOURCE = _m(
    "deny_explicit_resource_policy",
    "User: {principal} is not authorized to perform: {action} on resource: {resource} with an "
    "explicit deny in a resource-based policy",
    "AccessDeniedException", "AccessDenied")
# IAM user guide, troubleshoot_access-denied.html (template; no ECR sighting): AssumeRole's
# session policy limits what the role's policies allow
DENY_NO_SESSION = _m(
    "deny_no_session_policy",
    "User: {principal} is not authorized to perform: {action} on resource: {resource} because "
    "no session policy allows the {action} action",
    "AccessDeniedException", "AccessDenied")
# https://github.com/amzn/selling-partner-api-models/issues/2523 (STS AssumeRole, 403): the
# trust policy's refusal names no policy type
DENY_TRUST = _m(
    "deny_role_trust",
    "User: {principal} is not authorized to perform: sts:AssumeRole on resource: {resource}",
    None, "AccessDenied")

# --- policy documents --------------------------------------------------------------------
# https://github.com/awsdocs/amazon-ecr-user-guide/pull/20 ; https://github.com/aws/aws-sdk-go/issues/3921
REPOSITORY_POLICY_INVALID = _m(
    "repository_policy_invalid",
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy "
    "provided'", "InvalidParameterException", None)
# https://github.com/hashicorp/terraform-provider-aws/issues/39064
PRINCIPAL_NOT_FOUND = _m(
    "principal_not_found",
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'",
    "InvalidParameterException", None)
# https://github.com/pulumi/pulumi-aws/issues/2326
REGISTRY_POLICY_INVALID = _m(
    "registry_policy_invalid",
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy "
    "provided'", "InvalidParameterException", None)
# ECR's model: RepositoryPolicyText / RegistryPolicyText max 10240; botocore's wording of a
# model constraint as the lab's control plane already answers it (control/errors.validation)
POLICY_TOO_LONG = _m(
    "policy_too_long",
    "1 validation error detected: Value '{shown}' at 'policyText' failed to satisfy constraint: "
    "Member must have length less than or equal to {limit}",
    "ValidationException", None)
# IAM (MalformedPolicyDocument, 400): https://github.com/aws/aws-cli/issues/3501 ;
# https://github.com/99designs/iamy/issues/74
IAM_SYNTAX = _m("iam_syntax", "Syntax errors in policy.", None, "MalformedPolicyDocument",
                query_status=400)
# https://github.com/hashicorp/terraform-provider-aws/issues/10419
IAM_NO_PRINCIPAL = _m("iam_no_principal", "Policy document should not specify a principal.",
                      None, "MalformedPolicyDocument", query_status=400)
# https://github.com/terraform-aws-modules/terraform-aws-iam/issues/603
IAM_NO_RESOURCES = _m("iam_no_resources", "Policy statement must contain resources.",
                      None, "MalformedPolicyDocument", query_status=400)
# https://github.com/ministryofjustice/modernisation-platform-environments/pull/590
IAM_RESOURCE_ARN = _m("iam_resource_arn", 'Resource {resource} must be in ARN format or "*".',
                      None, "MalformedPolicyDocument", query_status=400)
# https://github.com/kiding/kakao-qr-api/pull/1
IAM_LEGACY = _m("iam_legacy", "The policy failed legacy parsing", None,
                "MalformedPolicyDocument", query_status=400)

# --- registry (docker) side --------------------------------------------------------------
# https://github.com/aws/aws-cli/issues/6580 (docker prints "denied: " before it); 403:
# ECR troubleshooting docs (common-errors-docker, "HTTP 403 ... Your token has expired")
TOKEN_EXPIRED = _m(
    "registry_token_expired",
    "Your authorization token has expired. Reauthenticate and try again.", None, None, 403, 403)
# ECR Public's answer to a password it cannot read (HTTP 400; private ECR's body at a failed
# login, also 400, is not on record): https://github.com/dependabot/proxy/issues/157
TOKEN_INVALID = _m(
    "registry_token_invalid", "Your Authorization Token is invalid.", None, None, 400, 400)
# The registry's 401 body (text/plain on ECR): https://github.com/mdlavin/copy-docker-image/issues/5
NOT_AUTHORIZED = _m("registry_not_authorized", "Not Authorized", None, None, 401, 401)
