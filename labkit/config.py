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
