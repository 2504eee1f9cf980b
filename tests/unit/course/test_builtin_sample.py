"""The sample application: committed programs match their generator (that they run:
tests/integration/course/test_sample_programs.py)."""

from __future__ import annotations

import pytest

from labkit.course import sample
from labkit.course.sample import make_hello


def test_committed_programs_equal_the_generator() -> None:
    for path, data in make_hello.expected().items():
        assert path.read_bytes() == data, f"{path} is stale: run python -m labkit.course.sample.make_hello"
        assert path.stat().st_mode & 0o111, f"{path} lost its executable bit"
        assert len(data) < 512


def test_contexts() -> None:
    assert (sample.base_context() / "Dockerfile").read_text().count("COPY") == 2
    assert "FROM scratch" in (sample.base_context() / "Dockerfile").read_text()
    v1, v2 = (sample.context(v) / "Dockerfile" for v in (1, 2))
    assert f"FROM {sample.BASE_REF}" in v1.read_text()
    assert v1.read_text() == v2.read_text(), "v1 and v2 may differ only in app/"
    assert "labkit base" in (sample.base_context() / "rootfs" / "etc" / "os-release").read_text()
    with pytest.raises(ValueError):
        sample.context(3)
