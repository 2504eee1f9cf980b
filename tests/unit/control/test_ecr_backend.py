"""The ECR backend in-process (no server): tag mutability filters, the one store, a lab home
from before the one store, the one door every operation goes through, and the wire layer's
error shapes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from labkit.lab.auth.signing import Signer
from labkit.lab.control.backend import EcrBackend
from labkit.lab.control.errors import EcrError
from labkit.lab.control.mutability import tag_is_immutable, wildcard_match
from labkit.lab.control.responses import TARGET_PREFIX, EcrApi
from tests.fixtures.ecr_messages import assert_ecr_message
from tests.unit.control.backend_harness import make_backend


@pytest.mark.parametrize(("pattern", "tag", "hit"), [
    ("latest", "latest", True), ("latest", "latest2", False), ("latest*", "latest-dev", True),
    ("*-rc", "1.0-rc", True), ("*-rc", "1.0-rc1", False), ("v*.*", "v1.2", True),
    ("a.b", "axb", False), ("*", "anything", True)])
def test_wildcard_filters(pattern: str, tag: str, hit: bool) -> None:
    assert wildcard_match(pattern, tag) is hit


def test_mutability_modes() -> None:
    filters = [{"filterType": "WILDCARD", "filter": "dev-*"}]
    assert tag_is_immutable({"imageTagMutability": "IMMUTABLE"}, "dev-1")
    assert not tag_is_immutable({"imageTagMutability": "MUTABLE"}, "1.0")
    assert not tag_is_immutable({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                                 "imageTagMutabilityExclusionFilters": filters}, "dev-1")
    assert tag_is_immutable({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                             "imageTagMutabilityExclusionFilters": filters}, "1.0")
    assert tag_is_immutable({"imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                             "imageTagMutabilityExclusionFilters": filters}, "dev-1")


def make(home: Path) -> EcrBackend:
    return make_backend(home)


def test_exclusion_mode_needs_filters(tmp_path: Path) -> None:
    backend = make(tmp_path)
    with pytest.raises(EcrError) as e:
        backend.call("CreateRepository", {"repositoryName": "web",
                                          "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"})
    assert e.value.code == "InvalidParameterException"
    assert not backend.repository_exists("web")  # nothing half-created


def test_repositories_live_in_the_registrys_store(tmp_path: Path) -> None:
    backend = make(tmp_path)
    backend.call("CreateRepository", {"repositoryName": "team/web",
                                      "imageTagMutability": "IMMUTABLE"})
    assert (tmp_path / "registry" / "repositories" / "team" / "web" / "_repository.json").exists()
    again = make(tmp_path)  # a restart reads the same records
    assert again.repository_exists("team/web") and again.tag_immutable("team/web", "1.0")
    again.call("DeleteRepository", {"repositoryName": "team/web"})
    assert not make(tmp_path).repository_exists("team/web")


def test_a_home_from_before_the_one_store_is_adopted_once(tmp_path: Path) -> None:
    (tmp_path / "control.json").write_text(json.dumps({"repositories": [
        {"name": "old", "created_at": 1.0, "image_tag_mutability": "IMMUTABLE",
         "lifecycle_policy": "{\"rules\": []}", "tags": [{"Key": "k", "Value": "v"}]}]}))
    backend = make(tmp_path)
    repo = backend.call("DescribeRepositories", {"repositoryNames": ["old"]})["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE" and repo["createdAt"] == 1.0
    assert not (tmp_path / "control.json").exists()


def call(api: EcrApi, action: str, body: bytes) -> tuple[str, dict]:
    environ = {"HTTP_X_AMZ_TARGET": TARGET_PREFIX + action, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), "REQUEST_METHOD": "POST"}
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list) -> None:
        seen["status"] = status

    out = b"".join(api(environ, start_response))
    return seen["status"], json.loads(out)


def test_wire_errors_are_ecr_shaped(tmp_path: Path) -> None:
    api = EcrApi(make(tmp_path))
    status, doc = call(api, "CreateRepository", b"not json")
    assert status.startswith("400") and doc["__type"] == "SerializationException"
    status, doc = call(api, "NoSuchThing", b"{}")
    assert status.startswith("400") and doc["__type"] == "UnknownOperationException"
    status, doc = call(api, "CreateRepository", json.dumps({"repositoryName": "A"}).encode())
    assert doc["__type"] == "InvalidParameterException"
    status, doc = call(api, "DescribeImages", json.dumps({"repositoryName": "ghost"}).encode())
    assert set(doc) == {"__type", "message"} and doc["__type"] == "RepositoryNotFoundException"
    assert_ecr_message("api.repository-not-found", doc["message"], repository="ghost",
                       registry_id="123456789012")


def test_a_lab_bug_is_ecrs_server_exception_and_logged(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """The wire's contract: an ECR error goes out as itself; anything else is a lab bug, logged
    with its traceback and answered as ECR's ServerException (500), never swallowed."""

    class Broken:
        def call(self, action: str, params: object) -> dict:
            raise RuntimeError("a bug")

    status, doc = call(EcrApi(Broken()), "ListImages", b"{}")  # type: ignore[arg-type]
    assert status.startswith("500") and doc["__type"] == "ServerException"
    assert "labkit lab logs" in doc["message"]
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)


def test_every_operation_goes_through_the_one_door(tmp_path: Path) -> None:
    """Templates, tokens, lifecycle: one dispatch table, built from botocore's model."""
    from labkit.lab.control.validation import service_model

    backend = make(tmp_path)
    missing = [op for op in service_model().operation_names if backend.handler(op) is None]
    assert missing == []
    token = backend.call("GetAuthorizationToken", {})["authorizationData"][0]
    assert token["proxyEndpoint"] == "http://127.0.0.1:5400"
    with pytest.raises(EcrError) as e:  # validated like every other operation
        backend.call("GetAuthorizationToken", {"registryIds": ["1"]})
    assert e.value.code == "InvalidParameterException"


@pytest.mark.timeout(30)
def test_model_patterns_cannot_hang_the_lab() -> None:
    """ScanningRepositoryFilterValue's pattern backtracks exponentially in Python: not checked."""
    from labkit.lab.control import validation

    op = validation.operation("PutRegistryScanningConfiguration")
    validation.check(op, {"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH",
                          "repositoryFilters": [{"filter": "a" * 200 + "!",
                                                 "filterType": "WILDCARD"}]}]})
    with pytest.raises(EcrError) as e:  # a linear pattern still is checked
        validation.check(validation.operation("GetDownloadUrlForLayer"),
                         {"repositoryName": "web", "layerDigest": "not a digest"})
    assert e.value.code == "InvalidParameterException"
    assert e.value.message.startswith("Invalid parameter at 'layerDigest' failed to satisfy "
                                      "constraint: 'Member must satisfy regular expression")


def test_push_to_a_missing_repository_asks_the_create_on_push_hook(tmp_path: Path) -> None:
    """Without a CREATE_ON_PUSH template the push fails with ECR's NAME_UNKNOWN; with one whose
    prefix covers the name, the repository is created (with the template's settings) and the
    push goes on; a pull never creates."""
    from werkzeug.test import Client

    from labkit.lab.registry.handlers import RegistryApp

    backend = make(tmp_path)
    app = RegistryApp(backend.storage, backend, Signer(b"k" * 32))
    c = Client(app)
    r = c.post("/v2/team/web/blobs/uploads/")
    assert r.status_code == 404 and r.get_json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert not backend.repository_exists("team/web")

    backend.call("CreateRepositoryCreationTemplate", {
        "prefix": "team", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "IMMUTABLE"})
    assert c.post("/v2/team/web/blobs/uploads/").status_code == 202
    assert backend.tag_immutable("team/web", "1.0")
    assert c.post("/v2/other/web/blobs/uploads/").status_code == 404
    assert c.get("/v2/team/api/tags/list").status_code == 404  # pulls never create
    assert not backend.repository_exists("team/api")
