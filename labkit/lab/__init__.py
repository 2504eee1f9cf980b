"""The lab: a local Amazon ECR on one loopback port (registry data plane + ECR control plane, one store).

`ensure()` returns the running lab for this LABKIT_HOME, starting one detached if needed.
"""

from __future__ import annotations

from .process import Lab, ensure, running, start, stop

__all__ = ["Lab", "ensure", "running", "start", "stop"]
