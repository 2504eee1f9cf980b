"""The lab's record of requests: one `TraceRecord` (labkit/trace/record.py) per request.

`traced` wraps a part of the lab (the registry, the ECR API) and writes the record once the
response is sent: time, status, bytes both ways, client, auth kind. What the request WAS is
told by the code that understood it, while it handles it: the registry's router names the
route, repository, reference, digest and ECR action (`note`), and whoever refuses says why
(`refuse`), with the facts an explanation needs. Both write into the request's draft, which
lives in the WSGI environ; a part of the lab used without tracing (unit tests) notes nothing.

It is what lets the course draw the pull that really happened and explain a learner's last
failure from the lab's own account, not from a guess over URLs.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..trace.record import Reason, TraceRecord

Environ = dict[str, Any]
DRAFT = "labkit.trace"  # the environ key of the request's draft (a dict of record fields)
AGENT_LIMIT = 200


class Trace:
    """A bounded, thread-safe list of records with increasing sequence numbers."""

    def __init__(self, limit: int = 20000):
        self._items: deque[TraceRecord] = deque(maxlen=limit)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, record: TraceRecord) -> None:
        with self._lock:
            record.seq = next(self._seq)
            self._items.append(record)

    def since(self, seq: int = 0) -> list[TraceRecord]:
        with self._lock:
            return [r for r in self._items if r.seq > seq]

    def last_seq(self) -> int:
        with self._lock:
            return self._items[-1].seq if self._items else 0


def note(environ: Environ, **fields: Any) -> None:
    """Tell the request's record what the request is (route, repository, action, ...)."""
    draft = environ.get(DRAFT)
    if draft is not None:
        draft.update(fields)


def refuse(environ: Environ, code: str, message: str, **facts: Any) -> None:
    """Tell the request's record why the lab refused it: the answer and the facts behind it.
    Facts that are None are left out."""
    draft = environ.get(DRAFT)
    if draft is not None:
        draft["reason"] = Reason(code, message, {k: v for k, v in facts.items()
                                                 if v is not None})


class _Counted:
    """Wraps a response iterable to count bytes out and record the request when it ends."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]):
        self._body = body
        self._done = done
        self._n = 0
        self._recorded = False

    def _record(self) -> None:
        if not self._recorded:
            self._recorded = True
            self._done(self._n)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._n += len(chunk)
            yield chunk
        # Record as soon as the body is sent: the server may drain the socket before it calls
        # close(), and a client that resets the connection (docker after a 401) skips close().
        self._record()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close:
                close()
        finally:
            self._record()


class _CountingInput:
    def __init__(self, stream: Any):
        self._s = stream
        self.n = 0

    def read(self, *args: Any) -> bytes:
        data = self._s.read(*args)
        self.n += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """Blob bodies arrive here: straight into the caller's buffer, no per-chunk copy."""
        readinto = getattr(self._s, "readinto", None)
        if readinto is None:
            data = self._s.read(len(buffer))
            n = len(data)
            buffer[:n] = data
        else:
            n = readinto(buffer) or 0
        self.n += n
        return n

    def readline(self, *args: Any) -> bytes:
        data = self._s.readline(*args)
        self.n += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def traced(app: Callable[..., Iterable[bytes]], trace: Trace, kind: Callable[[Environ], str],
           auth_kind: Callable[[Environ], str]) -> Callable[..., Iterable[bytes]]:
    """WSGI middleware recording each request into `trace` once its response is sent."""

    def wrapper(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        t0 = time.time()
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        draft: dict[str, Any] = {}
        environ[DRAFT] = draft
        answer: dict[str, Any] = {}

        def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"] = int(status.split(" ", 1)[0])
            for k, v in headers:
                key = k.lower()
                if key == "location":
                    answer["location"] = v.split("?", 1)[0]
                elif key == "www-authenticate":
                    answer["challenge"] = v
                elif key == "docker-content-digest":
                    answer["content_digest"] = v
            return start_response(status, headers, exc_info)

        def done(n_out: int) -> None:
            trace.add(TraceRecord(
                time=t0, duration=round(time.time() - t0, 6), kind=kind(environ),
                method=environ.get("REQUEST_METHOD", ""), path=environ.get("PATH_INFO", ""),
                status=answer.get("status", 0), bytes_in=counting.n, bytes_out=n_out,
                client=(environ.get("HTTP_USER_AGENT") or "")[:AGENT_LIMIT],
                door=f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}",
                auth=auth_kind(environ), location=answer.get("location"),
                challenge=answer.get("challenge"),
                content_digest=answer.get("content_digest"), **draft))

        return _Counted(app(environ, sr), done)

    return wrapper
