"""`labkit classroom up|join|leave|status`: one lab for a workshop room, an account per learner.

The instructor runs `up` (a lab for the room, an account and a join code per learner, the join
lines written to a file only the instructor can read); each learner runs `join LINE` (the
room's keys in an AWS profile, trust for the room's registry, and `labkit lab env` pointing at
the room) and `leave` at the end (every change undone). See docs/workshop.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from .. import config

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home).expanduser() if args.home else config.home()


def up(args: argparse.Namespace) -> int:
    from ..lab import process

    home = _home(args)
    names = [n.strip() for n in args.names.split(",") if n.strip()] if args.names else \
        [f"learner-{i:02d}" for i in range(1, args.learners + 1)]
    if not names:
        print("labkit: name at least one learner (--learners N or --names a,b)", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK:
        print(f"WARNING: the room's lab listens on {args.host}: anyone who can reach this "
              "machine can reach it (learners' keys and tokens still apply)", file=sys.stderr)
    address = args.address or (args.host if args.host not in ("0.0.0.0", "::") else None)
    if address is None:
        print("labkit: with --host 0.0.0.0, say which address learners reach this machine at "
              "(--address, e.g. the LAN address): it goes in the join lines and the room's "
              "certificate", file=sys.stderr)
        return 2
    from ..lab.auth import labkeys

    if process.running(home) is None:
        labkeys.make_private(home)  # the lab's own account: not the kit's published keys
    lab = process.running(home) or process.start(
        home, port=args.port, host=args.host, tls=args.tls,
        tls_hosts=[address] if args.tls and address not in LOOPBACK else None,
        address=address if address != args.host else None)
    made = lab.admin("POST", "/_labkit/room/learners", {"names": names}, timeout=120)
    scheme = urlsplit(lab.endpoint_url).scheme or "http"
    pin = f"#ca={ca_pin(lab.ca_file.read_bytes())}" if scheme == "https" and lab.ca_file \
        else ""
    lines = [f"{name}  labkit classroom join {scheme}://{address}:{lab.port}/{v['code']}{pin}"
             for name, v in made["learners"].items()]
    out = home / "room" / "join.txt"
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"# the room's lab: {lab.endpoint_url} (home {home}); one line per learner, also in "
          f"{out} (only you can read it)")
    print("\n".join(lines))
    print(f"# the board: labkit lab board --home {home}")
    return 0


def ca_pin(pem: bytes) -> str:
    """The fingerprint a join line carries: the first 128 bits of the SHA-256 of the CA
    certificate (DER), in hex. The join checks the CA it fetched against it before trusting."""
    import hashlib
    import ssl

    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    return hashlib.sha256(der).hexdigest()[:32]


def _fetch_ca(base: str, pin: str) -> bytes:
    """The room's CA, fetched without verification (it is what verification will need), kept
    only if its fingerprint is the join line's."""
    import warnings

    import requests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning: checked below
        r = requests.get(f"{base}/_labkit/room/ca", timeout=30, verify=False)
    r.raise_for_status()
    pem = str(r.json()["ca"]).encode()
    if ca_pin(pem) != pin.lower():
        raise ValueError("the room's CA is not the one your join line names (its fingerprint "
                         "differs): check the line, or ask your instructor; nothing was sent")
    return pem


def join(args: argparse.Namespace) -> int:
    import requests

    from ..room import joined as room

    home = _home(args)
    if room.load(home) is not None:
        print(f"labkit: this home already joined a room ({room.state_file(home)}): run "
              "`labkit classroom leave` first", file=sys.stderr)
        return 2
    url = urlsplit(args.line.strip())
    code = url.path.strip("/")
    if url.scheme not in ("http", "https") or not url.hostname or not code:
        print("labkit: a join line looks like https://HOST:PORT/CODE#ca=... (your instructor "
              "has it)", file=sys.stderr)
        return 2
    base = f"{url.scheme}://{url.netloc}"
    pin = url.fragment.removeprefix("ca=") if url.fragment.startswith("ca=") else ""
    if url.scheme == "https" and not pin:
        print("labkit: an https join line ends with #ca=FINGERPRINT (the room's CA): copy the "
              "whole line", file=sys.stderr)
        return 2
    ca_file = home / room.CA_FILE
    verify: bool | str = True
    try:
        if url.scheme == "https":
            pem = _fetch_ca(base, pin)
            home.mkdir(parents=True, exist_ok=True)
            ca_file.write_bytes(pem)
            verify = str(ca_file)
        r = requests.post(f"{base}/_labkit/room/join", json={"code": code}, timeout=30,
                          verify=verify)
    except (requests.RequestException, ValueError, KeyError) as e:
        print(f"labkit: cannot join the room at {base}: {e}", file=sys.stderr)
        ca_file.unlink(missing_ok=True)
        return 2
    if r.status_code != 200:
        error = r.json().get("error") if r.headers.get("Content-Type", "").startswith(
            "application/json") else r.text[:200]
        print(f"labkit: the room refused the join ({r.status_code}): {error}", file=sys.stderr)
        ca_file.unlink(missing_ok=True)
        return 2
    doc = r.json()
    joined = room.Joined(doc["name"], doc["account_id"], doc["region"], doc["endpoint_url"],
                         doc["registry"], str(ca_file) if verify is not True else None)
    try:
        room.write_profile(joined, doc)
    except room.RoomError as e:
        print(f"labkit: {e}", file=sys.stderr)
        ca_file.unlink(missing_ok=True)
        return 2
    if joined.ca:
        joined.written.append(joined.ca)
        from ..lab.tls.install import install_ca

        trusted = install_ca(ca_file, [joined.registry], home)
        if trusted.sudo:
            joined.sudo.append(trusted.sudo)
    room.save(home, joined)
    print(f"joined the room as {joined.name} (account {joined.account_id}); your registry is "
          f"{joined.registry}")
    print(f"  AWS profile {joined.profile} (keys in {room.aws_files()[1]}, not printed)")
    for command in joined.sudo:
        print(f"  run this once (it needs root): {command}")
    print('next: eval "$(labkit lab env)"   # aws and docker now use the room')
    return 0


def leave(args: argparse.Namespace) -> int:
    from ..room import joined as room

    home = _home(args)
    joined = room.load(home)
    if joined is None:
        print("labkit: this home has joined no room", file=sys.stderr)
        return 2
    for line in room.undo(joined):
        print(line)
    if joined.ca:
        from ..lab.tls.install import uninstall

        for line in uninstall(home).lines("removed"):
            print(line)
    room.state_file(home).unlink()
    print(f"left the room ({joined.name}); `labkit lab env` uses a local lab again")
    return 0


def status(args: argparse.Namespace) -> int:
    from ..room import joined as room

    joined = room.load(_home(args))
    if joined is None:
        print("no room: `labkit lab env` uses a local lab")
        return 0
    print(f"in a room as {joined.name} (account {joined.account_id}), API {joined.endpoint_url}, "
          f"registry {joined.registry}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    room = sub.add_parser("classroom", help="a workshop room: one lab, an account per learner")
    rs = room.add_subparsers(dest="classroom_cmd", required=True)
    p = rs.add_parser("up", help="(instructor) start the room's lab and make the learners")
    p.add_argument("--learners", type=int, default=0, help="how many (named learner-01...)")
    p.add_argument("--names", default="", help="or their names, comma-separated")
    p.add_argument("--host", default=os.environ.get("LABKIT_HOST", config.DEFAULT_HOST),
                   help="address to listen on (default 127.0.0.1; the room's LAN address, or "
                        "0.0.0.0, to let learners in)")
    p.add_argument("--address", default=None,
                   help="the address learners use in their join lines (default: --host)")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--home", default=None)
    p.add_argument("--no-tls", dest="tls", action="store_false",
                   help="plain HTTP (docker then needs the room under insecure-registries)")
    p.set_defaults(func=up, tls=True)
    p = rs.add_parser("join", help="(learner) join a room with the line your instructor gave")
    p.add_argument("line", help="https://HOST:PORT/CODE#ca=...")
    p.add_argument("--home", default=None)
    p.set_defaults(func=join)
    p = rs.add_parser("leave", help="(learner) undo everything join changed")
    p.add_argument("--home", default=None)
    p.set_defaults(func=leave)
    p = rs.add_parser("status", help="which room this home has joined")
    p.add_argument("--home", default=None)
    p.set_defaults(func=status)
