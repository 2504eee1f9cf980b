"""The lab's certificate authority (labkit/lab/tls): the names its server certificate carries,
owner-only keys, reuse across starts, renewal, the persisted choice, where clients find the CA
(labkit/engines/trust.py) and the undoable certs.d install. A TLS handshake with Python's own
ssl module checks what a client sees."""

from __future__ import annotations

import datetime
import http.client
import json
import ssl
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from labkit.engines.trust import Reach, certs_d_ca, reach
from labkit.lab.server.frontdoor import FrontDoor
from labkit.lab.tls import install
from labkit.lab.tls.authority import RENEW_BEFORE, SERVER_DAYS, ensure, names_of
from labkit.lab.tls.layout import ALWAYS, Choice, TlsFiles, load_choice, normal_host, resolve

ROOM = ("10.0.0.5", "lab.room.test")
NOW = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_server_certificate_names_loopback_and_the_room(tmp_path: Path) -> None:
    issued = ensure(tmp_path, Choice(True, ROOM).names, NOW)
    server, ca = cert(issued.certificate), cert(issued.ca)
    assert names_of(server) == {"127.0.0.1", "::1", "localhost", *ROOM}
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.not_valid_after_utc - NOW <= datetime.timedelta(days=SERVER_DAYS)
    assert b"BEGIN PRIVATE KEY" in issued.key.read_bytes()  # PKCS#8, as granian reads it


def ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_client_holding_the_ca_verifies_the_lab_and_one_without_it_is_refused(
        tmp_path: Path, host: str) -> None:
    issued = ensure(tmp_path, Choice(True).names)
    door = FrontDoor(ok_app, "127.0.0.1", 0, threads=2, certificate=issued.pair)
    door.prepare()
    thread = threading.Thread(target=door.serve, daemon=True)
    thread.start()
    try:
        trusted = ssl.create_default_context(cafile=str(issued.ca))
        conn = http.client.HTTPSConnection(host, door.port, timeout=10, context=trusted)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok"
        conn.close()
        system_only = ssl.create_default_context()
        conn = http.client.HTTPSConnection(host, door.port, timeout=10, context=system_only)
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", "/")
        conn.close()
    finally:
        door.stop()
        thread.join(10)


def test_keys_are_owner_only(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path)
    files.private.mkdir(parents=True, mode=0o755)  # a folder left open by someone
    files.private.chmod(0o755)
    ensure(tmp_path, ALWAYS)
    assert mode(files.private) == 0o700
    assert mode(files.ca_key) == 0o600 and mode(files.server_key) == 0o600
    assert mode(files.ca_cert) == 0o644  # what clients read
    assert sorted(p.name for p in files.folder.glob("*.crt")) == ["ca.crt"]  # --cert-dir reads *.crt


def test_reused_across_starts(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path)
    ensure(tmp_path, ALWAYS, NOW)
    before = {p: p.read_bytes() for p in (files.ca_cert, files.ca_key, files.server_cert,
                                          files.server_key)}
    ensure(tmp_path, ALWAYS, NOW + datetime.timedelta(days=100))
    assert {p: p.read_bytes() for p in before} == before


def test_new_host_names_remake_the_server_certificate_not_the_ca(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path)
    ensure(tmp_path, ALWAYS, NOW)
    ca, server = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    ensure(tmp_path, Choice(True, ROOM).names, NOW)
    assert files.ca_cert.read_bytes() == ca and files.server_cert.read_bytes() != server
    assert names_of(cert(files.server_cert)) == {*ALWAYS, *ROOM}


def test_near_its_end_the_server_certificate_is_renewed(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path)
    ensure(tmp_path, ALWAYS, NOW)
    ca, server = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    late = cert(files.server_cert).not_valid_after_utc - RENEW_BEFORE + datetime.timedelta(days=1)
    ensure(tmp_path, ALWAYS, late)
    assert files.ca_cert.read_bytes() == ca and files.server_cert.read_bytes() != server
    assert cert(files.server_cert).not_valid_after_utc > late + RENEW_BEFORE


def test_a_new_ca_remakes_the_server_certificate(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path)
    ensure(tmp_path, ALWAYS, NOW)
    files.ca_key.unlink()  # lost: a new CA, and the old server certificate is not its
    ensure(tmp_path, ALWAYS, NOW)
    cert(files.server_cert).verify_directly_issued_by(cert(files.ca_cert))


def test_the_choice_is_kept_for_the_next_start(tmp_path: Path) -> None:
    assert resolve(tmp_path, None, None) == Choice()  # a plain lab's first start
    assert not TlsFiles(tmp_path).folder.exists()  # writes nothing
    room = Choice(True, ("lab.room.test", "10.0.0.5"))
    assert resolve(tmp_path, True, ["LAB.Room.Test.", "10.0.0.5"]) == room
    assert resolve(tmp_path, None, None) == room
    # an address it listens on is named for this start, not kept
    assert resolve(tmp_path, None, None, listen="192.0.2.7").hosts[-1] == "192.0.2.7"
    assert load_choice(tmp_path).hosts == ("lab.room.test", "10.0.0.5")
    assert resolve(tmp_path, False, None) == Choice(False, ("lab.room.test", "10.0.0.5"))
    assert not load_choice(tmp_path).enabled
    with pytest.raises(ValueError):
        normal_host("not a host")


def _lab_json(home: Path, port: int, tls: bool) -> None:
    home.mkdir(parents=True, exist_ok=True)
    state = {"pid": 1, "host": "127.0.0.1", "port": port, "registry": f"127.0.0.1:{port}"}
    if tls:
        state.update(tls=True, ca=str(TlsFiles(home).ca_cert),
                     tls_hosts=[*ALWAYS, "lab.room.test"])
    (home / "lab.json").write_text(json.dumps(state))


def test_clients_find_the_lab_s_ca_for_each_of_its_doors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _lab_json(home, 21001, tls=True)
    door = home / "regions" / "eu-west-1" / "door.json"
    door.parent.mkdir(parents=True)
    door.write_text(json.dumps({"port": 21002}))
    ca = str(TlsFiles(home).ca_cert)
    assert reach("127.0.0.1:21001", True, home) == Reach("https", ca)
    assert reach("localhost:21002", True, home) == Reach("https", ca)  # a region's door
    assert reach("lab.room.test:21001", False, home) == Reach("https", ca)
    assert reach("127.0.0.1:21003", True, home) == Reach("http")  # not the lab's: docker's rule
    assert reach("registry.example:443", False, home) == Reach("https", True)
    _lab_json(home, 21001, tls=False)
    assert reach("127.0.0.1:21001", True, home) == Reach("http")


def test_a_ca_in_certs_d_is_used(tmp_path: Path) -> None:
    (tmp_path / "b" / "10.0.0.5:5400").mkdir(parents=True)
    (tmp_path / "b" / "10.0.0.5:5400" / "ca.crt").write_text("x")
    assert certs_d_ca("10.0.0.5:5400", (tmp_path / "a", tmp_path / "b")) == \
        tmp_path / "b" / "10.0.0.5:5400" / "ca.crt"
    assert certs_d_ca("10.0.0.5:5401", (tmp_path / "a", tmp_path / "b")) is None


def test_install_records_what_it_wrote_and_undo_removes_only_that(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ensure(home, ALWAYS)
    _lab_json(home, 21001, tls=True)
    docker, containers = tmp_path / "etc-docker" / "certs.d", tmp_path / "etc-containers" / "certs.d"
    (tmp_path / "etc-docker").mkdir()
    done = install.install(home, docker, containers, tmp_path / "user")
    wanted = {root / f"{name}:21001" / "ca.crt" for root in (docker, containers)
              for name in ("127.0.0.1", "localhost", "lab.room.test")}
    assert set(done.done) == wanted and not done.sudo
    assert all(p.read_bytes() == TlsFiles(home).ca_cert.read_bytes() for p in wanted)
    assert install.install(home, docker, containers, tmp_path / "user").done == []  # already there
    changed = containers / "localhost:21001" / "ca.crt"
    changed.write_text("someone else's CA")
    undone = install.uninstall(home)
    assert set(undone.done) == wanted - {changed} and undone.kept == [changed]
    assert changed.exists() and not (docker).exists()  # the folders it made, gone once empty
    assert (tmp_path / "etc-docker").exists()  # what was there before stays


def test_where_it_may_not_write_it_gives_the_sudo_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ensure(home, ALWAYS)
    _lab_json(home, 21001, tls=True)
    blocked = tmp_path / "file"
    blocked.write_text("")  # a folder under a file can never be made
    done = install.install(home, blocked / "docker", blocked / "containers", tmp_path / "user")
    assert done.sudo.startswith("sudo sh -c ") and "install -D -m 0644" in done.sudo
    assert str(blocked / "docker" / "127.0.0.1:21001" / "ca.crt") in done.sudo
    # the containers tools' copy went to the user's own folder instead
    assert tmp_path / "user" / "127.0.0.1:21001" / "ca.crt" in done.done


def test_labkit_lab_up_takes_tls_and_its_host_names() -> None:
    from labkit.cli import build_parser

    args = build_parser(False).parse_args(["lab", "up", "--tls", "--tls-host", "10.0.0.5",
                                           "--tls-host", "lab.room.test"])
    assert args.tls is True and args.tls_host == ["10.0.0.5", "lab.room.test"]
    assert build_parser(False).parse_args(["lab", "up", "--no-tls"]).tls is False
    assert build_parser(False).parse_args(["lab", "up"]).tls is None  # the home's choice
