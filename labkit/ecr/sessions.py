"""boto3 sessions for the two targets; the lab's ignores the user's AWS setup on purpose.

Why: a learner may have a real AWS profile, keys or AWS_ENDPOINT_URL in the environment; the lab
path must never pick any of them up, so no request (and no real key) ever leaves for AWS.
"""

from __future__ import annotations

import os

import boto3
import botocore.session
from botocore.config import Config

from .. import __version__

_UNSET = (None, None, None, None)  # (config name, env var, default, conversion): read nothing
# Every session variable that could steer a lab client to AWS or to the user's files.
_ISOLATED = {
    "profile": _UNSET,
    "region": _UNSET,
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
    "ca_bundle": _UNSET,
    "use_fips_endpoint": _UNSET,
    "use_dualstack_endpoint": _UNSET,
    "ignore_configured_endpoint_urls": (None, None, True, None),
}

# `labkit/<version>` in the User-Agent: the lab's trace tells labkit's own calls (the course's
# set-up asking whether a repository exists yet) from the learner's boto3 (labkit.trace.reader).
LAB_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=60,
                           retries={"total_max_attempts": 2, "mode": "standard"},
                           user_agent_extra=f"labkit/{__version__}")


def lab_session(region: str, access_key: str, secret_key: str) -> boto3.Session:
    """A session that knows only the lab's dummy credentials and region, nothing from the user."""
    core = botocore.session.Session(session_vars=dict(_ISOLATED))
    return boto3.Session(botocore_session=core, aws_access_key_id=access_key,
                         aws_secret_access_key=secret_key, region_name=region)


def aws_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    """The usual boto3 chain (AWS_PROFILE, ~/.aws, env keys, SSO, instance roles)."""
    return boto3.Session(profile_name=profile, region_name=region)
