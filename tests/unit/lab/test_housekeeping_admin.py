"""The lab's /_labkit/ housekeeping endpoints: clear answers to good and bad requests."""

from __future__ import annotations

import json

import pytest

from labkit.lab.housekeeping.clock import LabClock
from labkit.lab.housekeeping.service import Housekeeping
from tests.unit.control.backend_harness import make_backend


@pytest.fixture
def hk(tmp_path) -> Housekeeping:
    backend = make_backend(tmp_path)
    return Housekeeping(LabClock(tmp_path), backend.storage, backend.lifecycle)


def test_clock_advance_show_reset(hk):
    status, doc = hk.admin("/_labkit/clock", "POST", b'{"advance": "15d"}', {})
    assert status == "200 OK" and doc["offset"] == 15 * 86400 and doc["offset_text"] == "15d 0h"
    status, doc = hk.admin("/_labkit/clock", "POST", json.dumps({"advance": 3600}).encode(), {})
    assert doc["offset"] == 15 * 86400 + 3600
    assert hk.admin("/_labkit/clock", "GET", b"", {})[1]["offset"] == 15 * 86400 + 3600
    assert hk.admin("/_labkit/clock", "POST", b'{"reset": true}', {})[1]["offset"] == 0


@pytest.mark.parametrize("body", [b'{"advance": "soon"}', b'{"advance": -5}', b"not json",
                                  b'{"advance": "20y"}', b"{}"])
def test_clock_bad_requests_are_400_with_a_reason(hk, body):
    status, doc = hk.admin("/_labkit/clock", "POST", body, {})
    assert status == "400 Bad Request" and doc["error"]
    assert hk.clock.offset == 0


def test_wrong_methods_and_other_paths(hk):
    assert hk.admin("/_labkit/lifecycle/run", "GET", b"", {})[0] == "405 Method Not Allowed"
    assert hk.admin("/_labkit/gc", "GET", b"", {})[0] == "405 Method Not Allowed"
    assert hk.admin("/_labkit/clock", "DELETE", b"", {})[0] == "405 Method Not Allowed"
    assert hk.admin("/_labkit/elsewhere", "GET", b"", {}) is None
    assert hk.admin("/_labkit/gc", "POST", b"", {}) == ("200 OK", {"removed": 0})


def test_deletes_are_noticed_only_when_they_succeed(hk):
    hk.observe({"HTTP_X_AMZ_TARGET": "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage"},
               "400 Bad Request")
    assert not hk._wake.is_set()
    hk.observe({"REQUEST_METHOD": "DELETE", "PATH_INFO": "/v2/app/manifests/sha256:x"},
               "202 Accepted")
    assert hk._wake.is_set()
