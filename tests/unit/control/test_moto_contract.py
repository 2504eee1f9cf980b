"""What the lab relies on from its dependencies, pinned by tests: moto (only STS
GetCallerIdentity, unpatched) and botocore's ECR model (the operations and the input rules the
ECR API checks).  A moto or botocore release that changes any of it fails here first."""

from __future__ import annotations

import importlib.metadata
import inspect
import xml.etree.ElementTree as ET
from pathlib import Path

from werkzeug.test import Client

from labkit.config import LAB_ACCOUNT_ID
from labkit.lab.control import backend as backend_module
from labkit.lab.control.mutability import MODES
from labkit.lab.control.services import moto_sts
from labkit.lab.control.validation import service_model
from labkit.lab.registry.names import NAME_MAX, NAME_MIN, NAME_PATTERN

CONTROL = Path(backend_module.__file__).parent


def test_moto_is_the_version_the_lab_was_tested_with() -> None:
    version = importlib.metadata.version("moto")
    numbers = tuple(int(p) for p in version.split(".")[:3])
    assert (5, 2, 5) <= numbers < (5, 3, 0), version


def test_moto_sts_answers_get_caller_identity_for_the_labs_account() -> None:
    r = Client(moto_sts()).post(
        "/", data="Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=AKIALABKITLOCAL00000/20250101/"
                                  "us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x"})
    assert r.status_code == 200
    ns = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
    account = ET.fromstring(r.get_data()).find(".//sts:Account", ns)
    assert account is not None and account.text == LAB_ACCOUNT_ID


def test_the_lab_patches_nothing_of_moto() -> None:
    """No import-time patches: the control plane never imports moto's ECR."""
    for path in CONTROL.rglob("*.py"):
        text = path.read_text()
        assert "moto.ecr" not in text and "from moto.ecr" not in text, path.name
    import moto.ecr.models as ecr_models

    assert inspect.getmodule(ecr_models.ECRBackend.put_image) is ecr_models
    assert inspect.getmodule(ecr_models.Repository.__init__) is ecr_models


def test_botocore_model_states_the_rules_the_lab_checks() -> None:
    model = service_model()
    name = model.shape_for("RepositoryName").metadata
    assert (name["min"], name["max"], name["pattern"]) == (NAME_MIN, NAME_MAX, NAME_PATTERN)
    assert set(model.shape_for("ImageTagMutability").enum) == set(MODES)
    assert model.metadata["protocol"] == "json" and model.metadata["jsonVersion"] == "1.1"
    assert model.metadata["targetPrefix"] == "AmazonEC2ContainerRegistry_V20150921"


def test_the_model_has_the_operations_the_lab_answers() -> None:
    """Every one of them has a handler (tests/unit/control/test_ecr_backend.py checks the
    table); a botocore that drops many would show here."""
    assert len(service_model().operation_names) >= 62
