"""`labkit lab trust [--undo]`: put a TLS lab's CA where docker and podman/skopeo/buildah look
(`/etc/docker/certs.d/HOST:PORT/ca.crt`, `/etc/containers/certs.d/...`), or take it away.
Prints each file written or removed, and the one `sudo` command for what it may not write."""

from __future__ import annotations

import argparse
import sys

from .lab import home_of


def trust_cmd(args: argparse.Namespace) -> int:
    from ..lab.tls.install import install, uninstall
    from ..lab.tls.layout import TlsFiles

    home = home_of(args)
    if args.undo:
        outcome = uninstall(home)
        for line in outcome.lines("removed") or ["nothing to remove"]:
            print(line)
        return 0
    try:
        outcome = install(home)
    except FileNotFoundError:
        print(f"labkit: no lab has run for {home}: start it with `labkit lab up --tls`",
              file=sys.stderr)
        return 3
    except ValueError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    for line in outcome.lines("wrote"):
        print(line)
    ca = TlsFiles(home).ca_cert
    print(f"# the AWS CLI and boto3: export AWS_CA_BUNDLE={ca} (`labkit lab env` prints it); "
          f"skopeo, podman, buildah also take --cert-dir {ca.parent}")
    print("# undo: labkit lab trust --undo" + (f" --home {home}" if args.home else ""))
    return 1 if outcome.sudo else 0


def register(lab: argparse._SubParsersAction) -> None:
    sp = lab.add_parser("trust", help="make docker and podman/skopeo trust a TLS lab's CA "
                                      "(certs.d); --undo removes what it wrote")
    sp.add_argument("--home", default=None)
    sp.add_argument("--undo", action="store_true", help="remove the files an earlier trust wrote")
    sp.set_defaults(func=trust_cmd)
