"""Where the kit keeps things and which defaults it uses; every knob has an env variable."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DEFAULT_PORT = 5400  # not 5000: macOS gives that to AirPlay
DEFAULT_HOST = "127.0.0.1"
DEFAULT_REGION = "us-east-1"
LAB_ACCOUNT_ID = "123456789012"  # moto's default account: the lab's registry id
DEFAULT_TOKEN_TTL = 12 * 3600  # ECR's authorization tokens last 12 hours
# Dummy credentials for the lab: the AWS CLI and boto3 refuse to sign without some.
LAB_ACCESS_KEY = "AKIALABKITLOCAL00000"
LAB_SECRET_KEY = "labkit-local-secret-not-a-real-key"


def home() -> Path:
    """The lab's data directory: LABKIT_HOME, else the user's cache dir."""
    env = os.environ.get("LABKIT_HOME")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("labkit")) / "lab"
    return path.expanduser().resolve()


def port() -> int:
    return int(os.environ.get("LABKIT_PORT", DEFAULT_PORT))


def region() -> str:
    return os.environ.get("LABKIT_REGION") or DEFAULT_REGION


# Each region beyond the lab's own has a registry on a port of its own, kept in
# LABKIT_HOME/regions/NAME/door.json (labkit/lab/server/regions.py writes it).
REGIONS_FOLDER = "regions"
ACCOUNTS_FOLDER = "accounts"  # another account's: LABKIT_HOME/accounts/ACCOUNT/regions/NAME
DOOR_FILE = "door.json"


def region_of_port(port: int, lab_home: Path | None = None) -> str | None:
    """The region whose registry the lab in `lab_home` (default: this LABKIT_HOME) serves on
    `port`, if it is one of its other regions' ports; None otherwise."""
    import json

    root = lab_home or home()
    doors = [*root.glob(f"{REGIONS_FOLDER}/*/{DOOR_FILE}"),  # the lab's account's regions
             *root.glob(f"{ACCOUNTS_FOLDER}/*/{REGIONS_FOLDER}/*/{DOOR_FILE}")]  # others'
    for door in doors:
        try:
            if int(json.loads(door.read_text())["port"]) == port:
                return door.parent.name
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None

# A TLS lab's files (labkit/lab/tls): LABKIT_HOME/tls/ca.crt is the certificate authority's
# certificate, the one file clients need (AWS_CA_BUNDLE, `--cert-dir LABKIT_HOME/tls`, certs.d).
TLS_FOLDER = "tls"
CA_FILE = "ca.crt"
