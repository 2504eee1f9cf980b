"""The lab's light view of botocore's ECR model says what botocore's own ServiceModel says, for
every operation and every shape an input can reach (the lab validates with the light view so
that its start does not pay for botocore's import)."""

from __future__ import annotations

import botocore.session

from labkit.lab.control import model


def _walk(ours: model.Shape, theirs, seen: set[str]) -> None:  # noqa: ANN001 - botocore Shape
    if ours.name in seen:
        return
    seen.add(ours.name)
    assert ours.name == theirs.name
    assert ours.type_name == theirs.type_name, ours.name
    assert ours.metadata == {k: v for k, v in theirs.metadata.items()
                             if k in ("min", "max", "pattern", "enum")}, ours.name
    assert ours.enum == list(getattr(theirs, "enum", [])), ours.name
    if ours.type_name == "structure":
        assert ours.required_members == list(theirs.required_members), ours.name
        assert list(ours.members) == list(theirs.members), ours.name
        for name, member in ours.members.items():
            _walk(member, theirs.members[name], seen)
    elif ours.type_name == "list":
        _walk(ours.member, theirs.member, seen)


def test_every_input_shape_matches_botocores_model() -> None:
    theirs = botocore.session.get_session().get_service_model("ecr")
    ours = model.ecr()
    assert ours.operation_names == list(theirs.operation_names)
    assert len(ours.operation_names) >= 62
    seen: set[str] = set()
    for name in ours.operation_names:
        op, ref = ours.operation_model(name), theirs.operation_model(name)
        assert (op.input_shape is None) == (ref.input_shape is None), name
        if op.input_shape is not None:
            _walk(op.input_shape, ref.input_shape, seen)
    assert {"RepositoryName", "ImageTagMutability", "LayerDigest"} <= seen
