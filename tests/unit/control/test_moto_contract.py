"""What the lab relies on from its dependencies, pinned by tests: moto (never patched in
place; its IAM/STS seam is pinned in tests/unit/access) and botocore's ECR model (the
operations and the input rules the ECR API checks).  A moto or botocore release that
changes any of it fails here first. (moto's version range is pinned in pyproject.toml.)"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

from labkit.lab.control.mutability import MODES
from labkit.lab.control.validation import service_model
from labkit.lab.registry.names import NAME_MAX, NAME_MIN, NAME_PATTERN


def _labkit_made(obj: object) -> bool:
    """A function (or a partial of one) defined in labkit's or the tests' code."""
    obj = getattr(obj, "func", obj)  # functools.partial
    obj = getattr(obj, "__func__", obj)  # classmethod, staticmethod
    module = getattr(obj, "__module__", None) if callable(obj) else None
    return bool(module) and module.split(".")[0] in ("labkit", "tests")


def test_the_lab_patches_nothing_of_moto(tmp_path) -> None:
    """Every labkit.lab module imported and the lab's app built (moto's STS and IAM loaded
    behind our seam): no attribute of a moto module, or of a class moto defines, is a function
    of ours. A patch in place (`moto.x.Backend.method = ours`) fails here."""
    import labkit.lab
    from labkit.lab.server.app import LabApp, LabSettings

    for info in pkgutil.walk_packages(labkit.lab.__path__, "labkit.lab."):
        importlib.import_module(info.name)
    app = LabApp(LabSettings(home=tmp_path))
    # moto's IAM and STS load on first need (a lab that serves only ECR never imports them):
    # load them here, whatever other tests this process ran before
    app.access.store.ensure_loaded()
    loaded = [(n, m) for n, m in list(sys.modules.items())
              if (n == "moto" or n.startswith("moto.")) and m is not None]
    assert any(n.startswith("moto.sts") for n, _ in loaded)
    patched = []
    for name, module in loaded:
        for attr, value in list(vars(module).items()):
            if _labkit_made(value):
                patched.append(f"{name}.{attr}")
            if inspect.isclass(value) and value.__module__ == name:
                patched += [f"{name}.{attr}.{k}" for k, v in vars(value).items()
                            if _labkit_made(v)]
    assert patched == []


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
