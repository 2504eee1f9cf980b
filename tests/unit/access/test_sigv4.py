"""SigV4 verification against botocore's own signer: what the AWS CLI and boto3 send is accepted,
and every way a request can be wrong gets AWS's code and message."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from labkit.lab.access import messages as M
from labkit.lab.access.sigv4 import Request, SigningKey, SigV4Error, is_signed, scope_of, verify

KEY, SECRET = "AKIAEXAMPLEKEY000001", "secret/with+chars=and more"
TEMP, TEMP_SECRET, TOKEN = "ASIAEXAMPLEKEY000002", "tempsecret", "FQoGZXIvYXdzEBYaD" + "x" * 40
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"


def keys(now: float | None = None) -> dict[str, SigningKey]:
    return {KEY: SigningKey(SECRET),
            TEMP: SigningKey(TEMP_SECRET, TOKEN, (now or time.time()) + 3600)}


def lookup(key_id: str) -> SigningKey | None:
    return keys().get(key_id)


def signed(method: str = "POST", url: str = "http://127.0.0.1:5400/", body: bytes = b"{}",
           headers: dict[str, str] | None = None, key: str = KEY, secret: str = SECRET,
           token: str | None = None, service: str = "ecr", region: str = "us-east-1",
           query_auth: bool = False) -> Request:
    """A request signed by botocore exactly as it goes on the wire."""
    hdrs = {"X-Amz-Target": ECR_TARGET, "Content-Type": "application/x-amz-json-1.1"}
    hdrs.update(headers or {})
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    auth_cls = SigV4QueryAuth if query_auth else SigV4Auth
    auth = auth_cls(Credentials(key, secret, token), service, region)
    auth.add_auth(req)
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers_out = {k.lower(): v if isinstance(v, str) else v.decode()
                   for k, v in prepared.headers.items()}
    headers_out.setdefault("host", parts.netloc)
    data = prepared.body or b""
    return Request(method, parts.path or "/", parts.query, headers_out,
                   data if isinstance(data, bytes) else data.encode())


def refused(request: Request, **kw) -> SigV4Error:
    with pytest.raises(SigV4Error) as e:
        verify(request, lookup, service=kw.pop("service", "ecr"), **kw)
    return e.value


def test_botocore_signed_ecr_request_verifies() -> None:
    got = verify(signed(), lookup, service="ecr")
    assert (got.access_key_id, got.region, got.service) == (KEY, "us-east-1", "ecr")
    assert not got.presigned


def test_query_protocol_post_with_form_body_verifies() -> None:
    body = b"Action=CreateUser&Version=2010-05-08&UserName=ci%2Fbot"
    req = signed(body=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                 service="iam", region="eu-west-1")
    got = verify(req, lookup, service=("iam", "sts"))
    assert (got.service, got.region) == ("iam", "eu-west-1")


def test_get_with_query_string_and_odd_path_verifies() -> None:
    req = signed("GET", "http://127.0.0.1:5400/a/./b/../c%20d/?b=2&a=1&x=a%2Fb&e=", b"",
                 service="sts")
    assert verify(req, lookup, service="sts").service == "sts"


def test_presigned_query_form_verifies() -> None:
    req = signed("GET", "http://127.0.0.1:5400/?Action=GetCallerIdentity&Version=2011-06-15",
                 b"", service="sts", query_auth=True)
    assert "authorization" not in req.headers and is_signed(req)
    got = verify(req, lookup, service="sts")
    assert got.presigned and got.access_key_id == KEY


def test_temporary_credentials_need_their_session_token() -> None:
    assert verify(signed(key=TEMP, secret=TEMP_SECRET, token=TOKEN), lookup,
                  service="ecr").access_key_id == TEMP
    e = refused(signed(key=TEMP, secret=TEMP_SECRET, token=TOKEN[:-1] + "y"))
    assert (e.code("json"), e.message) == ("UnrecognizedClientException",
                                           M.UNRECOGNIZED_CLIENT.template)
    e = refused(signed(key=TEMP, secret=TEMP_SECRET))  # token left out
    assert e.code("query") == "InvalidClientTokenId"


def test_expired_session_is_expired_token() -> None:
    def expired(key_id: str) -> SigningKey | None:
        return SigningKey(TEMP_SECRET, TOKEN, time.time() - 1) if key_id == TEMP else None

    with pytest.raises(SigV4Error) as e:
        verify(signed(key=TEMP, secret=TEMP_SECRET, token=TOKEN), expired, service="ecr")
    assert (e.value.code("json"), e.value.code("query")) == ("ExpiredTokenException",
                                                             "ExpiredToken")
    assert e.value.message == "The security token included in the request is expired"


def test_unknown_key_is_unrecognized_client_whatever_the_signature() -> None:
    e = refused(signed(key="AKIANOSUCHKEY0000000", secret="whatever"))
    assert (e.code("json"), e.status("json")) == ("UnrecognizedClientException", 400)
    assert (e.code("query"), e.status("query")) == ("InvalidClientTokenId", 403)
    assert e.message == "The security token included in the request is invalid."


def test_wrong_secret_is_invalid_signature() -> None:
    e = refused(signed(secret="not-the-secret"))
    assert e.code("json") == "InvalidSignatureException"
    assert e.code("query") == "SignatureDoesNotMatch"
    assert e.message.startswith("The request signature we calculated does not match")


@pytest.mark.parametrize("tamper", ["body", "target", "method", "path", "query", "host"])
def test_any_change_after_signing_breaks_the_signature(tamper: str) -> None:
    req = signed(url="http://127.0.0.1:5400/?a=1")
    h = dict(req.headers)
    changes = {
        "body": dict(body=b'{"x":1}'), "method": dict(method="PUT"),
        "path": dict(path="/other"), "query": dict(query="a=2"),
        "target": dict(headers={**h, "x-amz-target": ECR_TARGET + "X"}),
        "host": dict(headers={**h, "host": "127.0.0.1:9999"}),
    }[tamper]
    fields = {"method": req.method, "path": req.path, "query": req.query, "headers": h,
              "body": req.body, **changes}
    assert refused(Request(**fields)).template is M.INVALID_SIGNATURE


def test_payload_hash_header_stands_for_the_body() -> None:
    req = signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    streamed = Request(req.method, req.path, req.query, req.headers, None)
    assert verify(streamed, lookup, service="ecr").access_key_id == KEY


def test_unsigned_request_is_missing_authentication_token() -> None:
    e = refused(Request("POST", "/", "", {"host": "x", "x-amz-target": ECR_TARGET}, b"{}"))
    assert (e.code("json"), e.message) == ("MissingAuthenticationTokenException",
                                           "Missing Authentication Token")
    assert not is_signed(Request("POST", "/", "", {}, b""))


def test_clock_skew_messages() -> None:
    """The server's clock, not the client's, moves: signed now, checked 20 minutes off."""
    req = signed()
    e = refused(req, now=time.time() + 20 * 60)
    assert e.code("json") == "InvalidSignatureException"
    assert e.message.startswith("Signature expired: ") and e.message.endswith(" - 15 min.)")
    e = refused(req, now=time.time() - 20 * 60)
    assert e.message.startswith("Signature not yet current: ")
    assert e.message.endswith(" + 15 min.)")
    assert verify(req, lookup, service="ecr", now=time.time() + 10 * 60)


def test_scope_must_name_the_service_and_a_region() -> None:
    e = refused(signed(service="s3"))
    assert e.message == "Credential should be scoped to correct service: 'ecr'. "
    e = refused(signed(region="moon-base"))
    assert e.message == "Credential should be scoped to a valid region, not 'moon-base'. "
    assert refused(signed(region="eu-west-1"), valid_region=lambda r: r == "us-east-1"
                   ).template is M.SCOPE_REGION


def _with_auth(value: str, date: bool = True) -> Request:
    h = {"host": "127.0.0.1", "authorization": value}
    if date:
        h["x-amz-date"] = "20240101T000000Z"
    return Request("POST", "/", "", h, b"")


def test_malformed_authorization_headers_are_incomplete_signature() -> None:
    e = refused(_with_auth("AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/ecr/aws4_request"
                           ", SignedHeaders=host"))
    assert (e.code("json"), e.code("query")) == ("IncompleteSignatureException",
                                                 "IncompleteSignature")
    assert e.message.startswith("Authorization header requires 'Signature' parameter. "
                                "Authorization=AWS4-HMAC-SHA256 Credential=")
    e = refused(_with_auth("Basic QVdTOnBhc3N3b3Jk", date=False))
    assert e.message.startswith(
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=Basic")
    bad = ("AWS4-HMAC-SHA256 Credential=AKIAX /20240101/us-east-1/ecr/aws4_request, "
           "SignedHeaders=host;x-amz-date, Signature=abc")
    e = refused(_with_auth(bad))
    assert e.message == ("'/20240101/us-east-1/ecr/aws4_request' not a valid key=value pair "
                         f"(missing equal-sign) in Authorization header: '{bad}'.")
    e = refused(_with_auth("AWS4-HMAC-SHA256 Credential=A/B/20240101/us-east-1/ecr/aws4_request,"
                           " SignedHeaders=host, Signature=abc"))
    assert e.message == ("Credential must have exactly 5 slash-delimited elements, e.g. keyid/"
                         "date/region/service/term, got 'A/B/20240101/us-east-1/ecr/aws4_request'")


def test_date_header_instead_of_x_amz_date() -> None:
    e = refused(_with_auth("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY000001/20240101/us-east-1/"
                           "ecr/aws4_request, SignedHeaders=host, Signature=ab", date=False))
    assert "existence of either a 'X-Amz-Date' or a 'Date' header" in e.message


def test_scope_of_reads_the_claimed_scope_without_verifying() -> None:
    assert scope_of(signed(region="eu-west-1")) == (KEY, "eu-west-1", "ecr")
    assert scope_of(Request("GET", "/", "", {}, b"")) is None


def test_from_environ_rebuilds_what_was_signed() -> None:
    req = signed(url="http://127.0.0.1:5400/?Action=GetCallerIdentity&Version=2011-06-15",
                 service="sts")
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": req.query,
               "CONTENT_TYPE": req.headers["content-type"],
               "CONTENT_LENGTH": req.headers.get("content-length", "2")}
    for name, value in req.headers.items():
        if name not in ("content-type", "content-length"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    rebuilt = Request.from_environ(environ, req.body)
    assert verify(rebuilt, lookup, service="sts").access_key_id == KEY


def test_secrets_are_masked_in_reprs() -> None:
    assert SECRET not in repr(SigningKey(SECRET, TOKEN))
    assert TOKEN not in repr(SigningKey(SECRET, TOKEN))
