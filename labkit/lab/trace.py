"""A trace of registry requests (time, method, path, status, bytes), read back by the course.

It is what lets the pull-flow diagram show the pull that really happened, not a textbook one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Environ = dict[str, Any]


class Trace:
    """A bounded, thread-safe list of request records with increasing sequence numbers."""

    def __init__(self, limit: int = 20000):
        self._items: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            record["seq"] = next(self._seq)
            self._items.append(record)

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._items if r["seq"] > seq]

    def last_seq(self) -> int:
        with self._lock:
            return self._items[-1]["seq"] if self._items else 0


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


def traced(app: Callable[..., Iterable[bytes]], trace: Trace, auth_kind: Callable[[Environ], str]
           ) -> Callable[..., Iterable[bytes]]:
    """WSGI middleware recording each request into `trace` once its response is sent."""

    def wrapper(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        t0 = time.time()
        counting = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        meta: dict[str, Any] = {}

        def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            meta["status"] = int(status.split(" ", 1)[0])
            for k, v in headers:
                if k.lower() == "location":
                    meta["location"] = v.split("?", 1)[0]
                elif k.lower() == "www-authenticate":
                    meta["challenge"] = v
            return start_response(status, headers, exc_info)

        def done(n_out: int) -> None:
            trace.add({
                "time": t0, "duration": round(time.time() - t0, 6),
                "method": environ.get("REQUEST_METHOD", ""),
                "path": environ.get("PATH_INFO", ""),
                "query": environ.get("QUERY_STRING", "").split("X-Amz-Signature")[0][:200],
                "status": meta.get("status", 0), "bytes_in": counting.n, "bytes_out": n_out,
                "auth": auth_kind(environ), "location": meta.get("location"),
                "challenge": meta.get("challenge"),
                "agent": (environ.get("HTTP_USER_AGENT") or "")[:80],
            })

        return _Counted(app(environ, sr), done)

    return wrapper
