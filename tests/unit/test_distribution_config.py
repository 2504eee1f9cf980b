"""The Distribution the tests and benchmarks run is configured as Debian configures it: the
same settings as the package's /etc/docker/registry/config.yml, apart from the three a test run
must change (storage folder, address, auth) and the log (see tests/distribution.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.distribution import CONFIG

DEBIAN = Path("/etc/docker/registry/config.yml")
OURS = ("storage.filesystem.rootdirectory", "http.addr", "auth", "log")


def flat(doc: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


def ours(name: str) -> bool:
    return any(name == k or name.startswith(k + ".") for k in OURS)


@pytest.mark.skipif(not DEBIAN.exists(), reason="Debian's docker-registry is not installed")
def test_distribution_runs_with_debians_settings() -> None:
    debian = {k: v for k, v in flat(yaml.safe_load(DEBIAN.read_text())).items() if not ours(k)}
    mine = flat(yaml.safe_load(CONFIG.format(root="/tmp/x", port=5000)))
    assert debian["storage.cache.blobdescriptor"] == "inmemory"  # what the review found missing
    assert {k: mine.get(k) for k in debian} == debian
