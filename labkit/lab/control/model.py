"""botocore's ECR model, read as data: the shapes validation walks, without importing botocore.

Importing botocore (its model classes pull in urllib3, http.client, email, dateutil...) costs
more CPU than the rest of the lab's start together, and the first CreateRepository needs the
model. The model itself is a JSON file botocore ships; this reads the same file botocore's
loader would (AWS_DATA_PATH, then ~/.aws/models, then botocore's own data, newest API version)
and offers the few read-only views validation needs. `tests/unit/control/test_ecr_model_view.py` checks
every input shape against botocore's own `ServiceModel`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
from functools import cache, cached_property
from pathlib import Path
from typing import Any

SERVICE = "ecr"
_METADATA = ("min", "max", "pattern", "enum")  # the traits validation reads


def search_paths() -> list[Path]:
    """Where botocore's loader looks for service models, in its order."""
    paths = [Path(p).expanduser() for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep)
             if p]
    paths.append(Path("~/.aws/models").expanduser())
    spec = importlib.util.find_spec("botocore")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        paths.extend(Path(p) / "data" for p in spec.submodule_search_locations)
    return paths


def model_file(service: str = SERVICE) -> Path:
    """The service-2 model of the newest API version in any search path, from the first path
    that has that version (botocore's loader decides the same way)."""
    names = ("service-2.json", "service-2.json.gz")
    found = [(version.name, i, version / name)
             for i, base in enumerate(search_paths())
             for version in (base / service).glob("*") if version.is_dir()
             for name in names if (version / name).is_file()]
    if not found:
        raise FileNotFoundError(f"no botocore model for {service!r} in "
                                f"{', '.join(map(str, search_paths()))}")
    newest = max(v for v, _, _ in found)
    return min((i, path) for v, i, path in found if v == newest)[1]


class Shape:
    """One shape of the model: the parts of botocore's `Shape` validation uses."""

    def __init__(self, model: ServiceView, name: str) -> None:
        self.name = name
        self._model = model
        self._spec: dict[str, Any] = model.shapes[name]
        self.type_name: str = self._spec["type"]
        self.metadata: dict[str, Any] = {k: self._spec[k] for k in _METADATA if k in self._spec}

    @property
    def required_members(self) -> list[str]:
        return list(self._spec.get("required", []))

    @cached_property
    def members(self) -> dict[str, Shape]:
        return {n: self._model.shape_for(ref["shape"])
                for n, ref in self._spec.get("members", {}).items()}

    @property
    def member(self) -> Shape:
        return self._model.shape_for(self._spec["member"]["shape"])

    @property
    def enum(self) -> list[str]:
        return list(self._spec.get("enum", []))


class Operation:
    """One operation: its name and input shape (None when it takes no input)."""

    def __init__(self, model: ServiceView, name: str) -> None:
        self.name = name
        ref = model.operations[name].get("input")
        self.input_shape = model.shape_for(ref["shape"]) if ref else None


class ServiceView:
    """The model's operations and shapes, looked up by name, each built once."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.metadata: dict[str, Any] = spec["metadata"]
        self.operations: dict[str, dict[str, Any]] = spec["operations"]
        self.shapes: dict[str, dict[str, Any]] = spec["shapes"]
        self._shapes: dict[str, Shape] = {}
        self._ops: dict[str, Operation] = {}

    @property
    def operation_names(self) -> list[str]:
        return list(self.operations)

    def shape_for(self, name: str) -> Shape:
        if name not in self._shapes:
            self._shapes[name] = Shape(self, name)
        return self._shapes[name]

    def operation_model(self, name: str) -> Operation:
        if name not in self._ops:
            self._ops[name] = Operation(self, name)
        return self._ops[name]


@cache
def ecr() -> ServiceView:
    """ECR's model, read once (about 10 ms; botocore's import would be tens of times that)."""
    path = model_file()
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return ServiceView(json.loads(raw))
