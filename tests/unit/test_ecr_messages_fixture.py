"""The fixture of ECR's words is well formed: every entry cites a source, its template reproduces
the source's concrete text, its codes are ECR's (botocore's model, the OCI spec), and the matcher
fails loudly and readably."""

from __future__ import annotations

import re

import botocore.session
import pytest

from tests.fixtures.ecr_messages import (
    KINDS,
    SURFACES,
    assert_ecr_message,
    entries,
    entry,
    unsourced,
)

# The OCI distribution spec's codes, plus TAG_INVALID (Docker Registry HTTP API V2), which ECR
# answers for an immutable tag (moby/buildkit#3776 shows docker's 'tag invalid: ').
REGISTRY_CODES = {"BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
                  "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
                  "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED",
                  "TOOMANYREQUESTS", "TAG_INVALID"}


@pytest.fixture(scope="module")
def model():  # noqa: ANN201 - botocore's ServiceModel
    return botocore.session.get_session().get_service_model("ecr")


def test_every_entry_cites_a_source_and_names_its_surface() -> None:
    assert len(entries()) >= 40
    for item in entries().values():
        assert item.surface in SURFACES, item.id
        assert item.kind in KINDS, item.id
        assert item.message, item.id
        assert item.source_urls, item.id
        for url in item.source_urls:
            assert re.fullmatch(r"https://[\w.-]+/\S+", url), (item.id, url)
        assert item.id.split(".")[0] in {"api", "cli", "docker", "registry", "model"}, item.id


def test_each_template_reproduces_its_sources_concrete_text() -> None:
    checked = 0
    for item in entries().values():
        if item.example is None:
            continue
        assert item.render(**item.example_values) == item.example, item.id
        checked += 1
    assert checked >= 10


def test_api_codes_are_ecrs_modeled_exceptions_or_failure_codes(model) -> None:  # noqa: ANN001
    exceptions = {n for n in model.shape_names if model.shape_for(n).metadata.get("exception")}
    failure_codes = set(model.shape_for("ImageFailureCode").enum)
    for item in entries().values():
        if item.surface in ("api-json", "cli"):
            assert item.code in exceptions | failure_codes, item.id
            if item.surface == "cli":
                assert item.message.startswith(f"An error occurred ({item.code}) when calling the ")


def test_registry_codes_are_the_specs(model) -> None:  # noqa: ANN001
    for item in entries().values():
        if item.surface in ("registry-http", "docker-cli") and item.code is not None:
            assert item.code in REGISTRY_CODES, item.id


def test_model_entries_quote_botocores_model_verbatim(model) -> None:  # noqa: ANN001
    """A model entry is the exception's documentation in the installed botocore, word for word:
    a newer botocore that rewords it fails here instead of drifting unseen."""
    found = [item for item in entries().values() if item.kind == "model"]
    assert found
    for item in found:
        doc = re.sub(r"<[^>]+>", "", model.shape_for(item.code).documentation).strip()
        assert item.message == doc, item.id


def test_matcher_renders_and_compares_exactly() -> None:
    assert_ecr_message("api.repository-not-found",
                       "The repository with name 'x' does not exist in the registry with id '1'",
                       repository="x", registry_id="1")
    with pytest.raises(AssertionError) as exc:
        assert_ecr_message("api.repository-not-found",
                           "The repository with name 'x' does not exist in registry with id '1'",
                           repository="x", registry_id="1")
    text = str(exc.value)
    assert "api.repository-not-found (observed: https://github.com/" in text
    assert "first difference at character 47" in text and "-'the'" in text


def test_matcher_refuses_a_missing_or_unknown_placeholder() -> None:
    with pytest.raises(KeyError, match="missing \\['registry_id'\\]"):
        assert_ecr_message("api.repository-not-found", "", repository="x")
    with pytest.raises(KeyError, match="unknown \\['repo'\\]"):
        assert_ecr_message("api.repository-not-found", "", repository="x", registry_id="1", repo="y")
    with pytest.raises(KeyError, match="is not in ecr_messages.json"):
        entry("api.no-such-entry")


def test_ecrs_own_braces_are_not_placeholders() -> None:
    assert entry("api.image-not-found").placeholders == {"image_digest", "image_tag", "repository",
                                                         "registry_id"}
    assert entry("api.invalid-parameter.registry-ids-pattern").placeholders == set()


def test_the_table_of_unsourced_lab_messages_gives_a_recommendation_each() -> None:
    table = unsourced()
    assert table["messages"]
    for row in table["messages"]:
        assert row["action"] in {"reword", "lab-note", "keep"}, row
        assert row["where"] and row["lab_message"] and row["recommendation"], row
