"""Figures for the course: the pull flow as it really happened, and layer reuse between versions.

Every function returns a matplotlib Figure (never calls `plt.show()`), so a notebook cell that
ends with one displays it once; `save(fig, path)` writes it with stable bytes.
"""

from __future__ import annotations

from .demo import settled_trace
from .flow import pull_requests
from .layers import layer_reuse
from .overview import architecture
from .pullflow import pull_flow, pull_flow_from_report
from .style import save

__all__ = ["architecture", "layer_reuse", "pull_flow", "pull_flow_from_report",
           "pull_requests", "save", "settled_trace"]

