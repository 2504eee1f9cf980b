"""The seed's login command, written once: what the kit prints for a learner to paste.

`login_command(region, registry)` is the bash line; after `eval "$(labkit lab env)"` it reaches
the lab because the AWS CLI reads AWS_ENDPOINT_URL itself. AWS Tools for PowerShell do not, so
the PowerShell line names the endpoint (`-EndpointUrl $env:AWS_ENDPOINT_URL`) unless
`endpoint=False` (real ECR).
"""

from __future__ import annotations

import re

from .. import config

_ECR_HOST_RE = re.compile(r"\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


def region_of(registry: str) -> str:
    """The region an ECR registry address names; for the lab's addresses, the region whose
    registry listens on that port (config.region_of_port), else the configured one."""
    m = _ECR_HOST_RE.search(registry)
    if m:
        return m.group(1)
    port = registry.rsplit(":", 1)[-1]
    found = config.region_of_port(int(port)) if ":" in registry and port.isdigit() else None
    return found or config.region()


def login_command(region: str, registry: str, shell: str = "bash", endpoint: bool = True) -> str:
    """`aws ecr get-login-password ... | docker login ...` for bash, or its PowerShell form."""
    docker = f"docker login --username AWS --password-stdin {registry}"
    if shell == "powershell":
        url = " -EndpointUrl $env:AWS_ENDPOINT_URL" if endpoint else ""
        return f"(Get-ECRLoginCommand -Region {region}{url}).Password | {docker}"
    if shell != "bash":
        raise ValueError(f"shell must be 'bash' or 'powershell', not {shell!r}")
    return f"aws ecr get-login-password --region {region} | {docker}"


def for_registry(registry: str, shell: str = "bash") -> str:
    """The login command for a registry address (lab or ECR), region worked out from it."""
    return login_command(region_of(registry), registry, shell,
                         endpoint=not _ECR_HOST_RE.search(registry))
