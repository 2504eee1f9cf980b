"""The kernel's environment as a terminal's after `eval "$(labkit lab env)"`.

Minimal stand-in (course-notebooks branch) for the course-hands-on helper's `activate()`:
same signature, environment variables only. On merge the integrator keeps theirs (which also
puts the built-in engine's `docker` shim first on PATH).
"""

from __future__ import annotations

import os
import sysconfig
from typing import Any


def activate(lab: Any = None, engine: Any = None) -> dict[str, str]:
    """Export the lab's variables into os.environ, so `!aws ...` and `!docker ...` reach it.

    Returns what was set. Without a lab (real AWS) nothing is set: the learner's own AWS
    profile and region apply, as in their terminal.
    """
    if lab is None:
        return {}
    env = dict(lab.env())
    env["REGISTRY"] = env.get("LABKIT_REGISTRY", lab.registry)
    # `aws` and `labkit` are installed next to this Python; a kernel started from a venv
    # that was never activated would not find them otherwise
    scripts = sysconfig.get_path("scripts")
    path = os.environ.get("PATH", "")
    if scripts and scripts not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join([scripts, path]) if path else scripts
    os.environ.update(env)
    return env
