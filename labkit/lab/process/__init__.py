"""The lab as a process: start, find and stop it (`manage`), how it is started (`launch`: fork or
a portable `python -m labkit.lab.process.main`), how a running one is recognised (`probe`,
`identity`, `whoami`, `pids`), and the variables that point clients at it (`env`).

`labkit.lab.process.start/stop/running/find/ensure` and `Lab` are the entry points.
"""

from __future__ import annotations

from .manage import (
    LOOPBACK_HOSTS,
    Lab,
    LabError,
    Stopped,
    Verdict,
    ensure,
    exposed_warning,
    find,
    free_port,
    running,
    start,
    stop,
)

__all__ = ["LOOPBACK_HOSTS", "Lab", "LabError", "Stopped", "Verdict", "ensure", "exposed_warning",
           "find", "free_port", "running", "start", "stop"]
