"""The lab's trace, read: one record type and one reader.

- `record`: `TraceRecord` (one request as the lab matched it) and `Reason` (why it was refused).
- `reader`: a trace turned into client sessions, pulls, pushes and failures; `last_failure`
  is what `labkit explain` starts from.
- `explain`: a refusal explained (what was asked, what the lab answered, why, the one fix):
  `labkit explain` and the course's failed cells (their look-ups: labkit/course/explained.py).
- `steps`: an engine's recorded steps as records (real AWS has no lab trace).

Client-side and light: importing it imports neither the lab nor matplotlib nor boto3.
"""

from .reader import (
    Failure,
    Pull,
    Push,
    client_name,
    failures,
    last_failure,
    last_pull,
    last_push,
    ordered,
    pull_requests,
    pulls,
    pushes,
    sessions,
)
from .record import SCHEMA, Reason, TraceRecord, from_dicts

__all__ = ["SCHEMA", "Failure", "Pull", "Push", "Reason", "TraceRecord", "client_name",
           "failures", "from_dicts", "last_failure", "last_pull", "last_push", "ordered",
           "pull_requests", "pulls", "pushes", "sessions"]
