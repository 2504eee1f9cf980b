"""The lab's WSGI app behind an ASGI server: each request's app call runs in a thread of ours.

Why a bridge: granian (the front door's server, `frontdoor.py`) runs in the lab's process only
as its documented *embedded* server, which speaks ASGI or RSGI (async), not WSGI. The lab's app
is synchronous (file I/O, locks), so it runs in a pool of threads, never on the event loop: a
request waiting for a lock that an upload holds must not stop the loop that feeds that upload
its bytes. ASGI rather than granian's own RSGI: ASGI's `http.disconnect` tells a broken or cut
chunked body from a whole one (RSGI's body iterator ends the same way for both), and any ASGI
server (uvicorn, measured beside granian in `tests/bench/bench_frontdoor.py`) can host it.

What the bridge owns, because ASGI leaves it to the app:
- the WSGI environ from the ASGI scope (PEP 3333: latin-1 strings, HTTP_* headers);
- the request body as a stream (`RequestBody`): a task on the loop receives the body's chunks
  and hands them over a queue, at most `QUEUE_HIGH` bytes ahead of the app, so a 1 GiB layer
  never sits in memory; a read that waits `idle_timeout` seconds for the client's next byte
  raises `TimeoutError` (a client silent mid-upload must not hold its upload session for ever:
  the server's own body reads have no timeout);
- keep-alive: an answer whose request body was not read to its end says `Connection: close`
  (its unread bytes must never be parsed as the next request), unless the rest is short
  (`DRAIN_LIMIT`) and arrives at once: it is then read and dropped, and the connection stays;
- one log line, no traceback, for a client that goes silent or away mid-request.
"""

from __future__ import annotations

import asyncio
import collections
import io
import itertools
import logging
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger("labkit.lab.http")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
QUEUE_HIGH = 4 << 20  # body bytes received ahead of the app before the bridge stops receiving
QUEUE_LOW = 1 << 20  # ...and resumes once the app has caught up to this
BATCH = 1 << 20  # body bytes handed to the app's thread at once...
BATCH_DELAY = 0.005  # ...or what arrived within this many seconds
DRAIN_LIMIT = 1 << 16  # an unread rest up to this size is dropped to keep the connection...
DRAIN_SECONDS = 2.0  # ...if it arrives within this time
CLOSE = (b"connection", b"close")
_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "2": "HTTP/2", "2.0": "HTTP/2"}
_PLAIN_HEADERS = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}


class ClientGone(ConnectionResetError):
    """The client closed or reset the connection before its body ended (or broke its framing:
    the server cannot tell the two apart, and neither may keep what it sent as whole)."""


def _describe(scope: dict[str, Any]) -> tuple[str, str]:
    """(client, "METHOD /path") for a log line."""
    client = scope.get("client") or ("?", 0)
    return f"{client[0]}:{client[1]}", f"{scope['method']} {scope['path']}"


class RequestBody(io.RawIOBase):
    """A request body read by the app's thread while a task on the loop receives it.

    `length` is the Content-Length (None for a chunked body, read to its end). `finished` says
    the body was read to its end: only then may the connection serve another request."""

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop, length: int | None,
                 idle_timeout: float, scope: dict[str, Any]):
        super().__init__()
        self._receive = receive
        self._loop = loop
        self._timeout = idle_timeout
        self._scope = scope
        # a batch of chunks, b"" (the end), or why the body ended early
        self._queue: queue.SimpleQueue[list[bytes] | bytes | BaseException] = queue.SimpleQueue()
        self._chunk = memoryview(b"")
        self._pieces: collections.deque[bytes] = collections.deque()  # of the batch taken
        self._asked = False  # the app's thread asked the loop to start the pump
        self._ended = False  # the pump's end marker was taken
        self._error: BaseException | None = None  # raised by every read from now on
        self._task: asyncio.Task[None] | None = None  # the pump, on the loop
        self._space: asyncio.Future[None] | None = None  # the pump waits for the app
        self._dropping = False  # the app is done: what still arrives is dropped
        self._received = 0  # written by the pump only
        self._batch: list[bytes] = []  # received, not yet handed over (on the loop)
        self._batched = 0
        self._flush_later: asyncio.TimerHandle | None = None
        self._consumed = 0  # written by the app's thread only
        self.length = length
        self.remaining = length  # None: chunked, unknown until its last chunk
        self.finished = length == 0
        self.failed = False  # the client went silent or away: the connection is done

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes, fewer only at the body's end, as a file's `read` (PEP 3333): an app
        reads a JSON body with one `read(CONTENT_LENGTH)`; all of it if `size` is negative."""
        if size is None or size < 0:
            return self.readall()
        buf = bytearray(size)
        got = 0
        with memoryview(buf) as view:
            while got < size and (n := self.readinto(view[got:])):
                got += n
        del buf[got:]
        return bytes(buf)

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` with what has arrived (waiting only if nothing has): the chunks the
        server hands over are often small (a curl chunk is 16-64 KiB), and each return costs
        the app a round of hashing and writing. 0 at the body's end."""
        if self.finished:
            return 0
        view = memoryview(buffer).cast("B")
        size = len(view) if self.remaining is None else min(len(view), self.remaining)
        filled = 0
        while filled < size:
            if not self._chunk:
                item = self._take(block=filled == 0)
                if not item:  # nothing more for now, or the end
                    break
                self._chunk = memoryview(item)
            n = min(size - filled, len(self._chunk))
            view[filled:filled + n] = self._chunk[:n]
            self._chunk = self._chunk[n:]
            filled += n
        if self.remaining is not None:
            self.remaining -= filled
            if self.remaining == 0:
                self.finished = True
        elif self._ended and not self._chunk:
            self.finished = True
        return filled

    def _take(self, block: bool) -> bytes | None:
        """In the app's thread: the next chunk from the pump; b"" at the body's end; None if
        `block` is false and none has arrived. A failure met without blocking waits for the
        next call, so that the bytes already copied reach the app first."""
        if self._pieces:
            return self._pieces.popleft()
        if self._error is not None:
            raise self._error
        if self._ended:
            return b""
        if not self._asked:
            self._asked = True
            self._loop.call_soon_threadsafe(self._start)
        try:
            item = self._queue.get(timeout=self._timeout) if block else self._queue.get_nowait()
        except queue.Empty:
            if not block:
                return None
            client, what = _describe(self._scope)
            log.warning("%s sent nothing for %.0fs mid-request (%s): connection closed",
                        client, self._timeout, what)
            self._loop.call_soon_threadsafe(self.cancel)
            return self._fail(TimeoutError(f"the client sent nothing for {self._timeout:.0f}s"),
                              block)
        if isinstance(item, BaseException):
            log.warning("%s went away mid-request (%s): %s", *_describe(self._scope), item)
            return self._fail(item, block)
        if isinstance(item, list):  # a batch: its pieces are handed out one by one
            self._consumed += sum(map(len, item))
            self._pieces.extend(item[1:])
            item = item[0]
        else:
            self._consumed += len(item)
        space = self._space
        if space is not None and self._received - self._consumed <= QUEUE_LOW:
            self._space = None
            self._loop.call_soon_threadsafe(_resolve, space)
        if not item:
            self._ended = True
            if self.length is not None and self._consumed < self.length:  # ended early
                log.warning("%s went away mid-request (%s): the body ended %d bytes short",
                            *_describe(self._scope), self.length - self._consumed)
                return self._fail(ClientGone("the body ended before its Content-Length"),
                                  block)
        return item

    def _fail(self, error: BaseException, block: bool) -> None:
        self.failed = True
        self._error = error
        if block:
            raise error
        return None

    def _start(self) -> None:
        """On the loop: start the pump (once)."""
        if self._task is None:
            self._task = self._loop.create_task(self._pump())

    async def _pump(self) -> None:
        """On the loop: receive the body's chunks into the queue, at most QUEUE_HIGH ahead.
        b"" marks the body's end; a ClientGone, a disconnect (or broken framing) before it.

        Chunks are handed over in batches of BATCH bytes (or whatever arrived within
        BATCH_DELAY): a chunked upload comes in pieces of 16-64 KiB, and waking the app's
        thread for each one costs more GIL hand-offs than the bytes cost to copy."""
        try:
            await self._receive_all()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the server raised, the body is cut
            self._flush()
            self._queue.put(ClientGone(f"the server could not receive the body: {e!r}"))

    async def _receive_all(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                self._flush()
                self._queue.put(ClientGone("the connection closed before the body ended"))
                return
            chunk = message.get("body", b"")
            self._received += len(chunk)
            if chunk and not self._dropping:
                self._batch.append(chunk)
                self._batched += len(chunk)
                if self._batched >= BATCH:
                    self._flush()
                elif self._flush_later is None:
                    self._flush_later = self._loop.call_later(BATCH_DELAY, self._flush)
                if self._received - self._consumed > QUEUE_HIGH:
                    self._flush()  # all of it within the app's reach before waiting
                while not self._dropping and self._received - self._consumed > QUEUE_HIGH:
                    space = self._loop.create_future()
                    self._space = space
                    if self._received - self._consumed <= QUEUE_HIGH:  # the app caught up
                        self._space = None
                        break
                    await space
            if not message.get("more_body", False):
                self._flush()
                self._queue.put(b"")
                return

    def _flush(self) -> None:
        """On the loop: hand the batch to the app's thread."""
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        if self._batch:
            self._queue.put(self._batch)
            self._batch, self._batched = [], 0

    async def drain(self, limit: int, timeout: float) -> bool:
        """On the loop, once the app is done: drop a short unread rest (at most `limit` bytes
        still to come, within `timeout` seconds) so that the connection can serve again.
        True if the body was (or now is) read to its end."""
        if self.finished:
            return True
        if self.failed or self.length is None or self.length - self._received > limit:
            return False
        self._dropping = True
        if self._space is not None:
            _resolve(self._space)
            self._space = None
        self._start()
        assert self._task is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except (TimeoutError, asyncio.CancelledError):
            return False
        return self._received == self.length

    def cancel(self) -> None:
        """On the loop, once the answer is made: stop receiving what the app did not read,
        and let go of the server's `receive` (an app may keep the environ, and with it this
        body: the server keeps an unread request body, and so its connection, for as long as
        its receive is referenced)."""
        self._dropping = True
        self._receive = _gone
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        task = self._task
        if task is not None and not task.done():
            task.cancel()


class _NoBody(io.RawIOBase):
    """The body of a request that has none."""

    finished = True
    failed = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return 0

    async def drain(self, limit: int, timeout: float) -> bool:
        return True

    def cancel(self) -> None:
        pass


async def _gone() -> dict[str, Any]:
    return {"type": "http.disconnect"}


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Answer:
    """What the app answered: status, headers, and either all of the body or its first piece
    and an iterator over the rest (a blob streamed from disk)."""

    __slots__ = ("status", "headers", "body", "rest", "close")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                 rest: Iterator[bytes] | None = None, close: Callable[[], None] | None = None):
        self.status, self.headers, self.body, self.rest, self.close = (
            status, headers, body, rest, close)


def call_app(app: WSGIApp, environ: dict[str, Any]) -> Answer:
    """Call a WSGI app (in a worker thread): the whole body when the app gave a list or an
    iterator of one piece (closed here), else its first non-empty piece and the rest of its
    iterator (still open). A HEAD's iterator is closed after its first piece."""
    started: list[Any] = []  # [status, headers]
    written: list[bytes] = []
    streaming = False  # the answer's head is on its way: start_response may not change it

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and streaming:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append  # WSGI's legacy write(): sent before the iterable's bytes

    result = app(environ, start_response)
    close = getattr(result, "close", None)
    try:
        if isinstance(result, (list, tuple)):
            body = b"".join([*written, *result])
            rest = None
        else:
            rest = iter(result)
            body = b"".join(written)
            head_only = environ.get("REQUEST_METHOD") == "HEAD"
            for piece in rest:
                if piece:
                    body += piece
                    if head_only:  # the headers are known and none of the body leaves
                        break
                    # One piece more in this thread: a body of one piece (a manifest, any
                    # answer the trace's counter wraps) is then whole, and its sending and
                    # closing cost no further hop between the loop and the worker threads.
                    more = _next_piece(rest)
                    if more:
                        rest = itertools.chain((more,), rest)
                        streaming = True
                    break
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status, headers = started[0], started[1]
        out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if streaming:
            return Answer(int(status[:3]), out, body, rest, close)
        return Answer(int(status[:3]), out, body)
    finally:
        if not streaming and close is not None:
            close()


def environ_of(scope: dict[str, Any], body: Any) -> dict[str, Any]:
    """PEP 3333's environ from an ASGI HTTP scope (strings are latin-1, as WSGI requires)."""
    server = scope.get("server") or ("127.0.0.1", 0)
    client = scope.get("client") or ("", 0)
    raw_path = scope.get("raw_path")
    path = (unquote_to_bytes(raw_path) if raw_path is not None
            else scope["path"].encode("utf-8")).decode("latin-1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": _PROTOCOLS.get(scope.get("http_version", "1.1"), "HTTP/1.1"),
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        key = _PLAIN_HEADERS.get(name) or "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        environ["wsgi.input_terminated"] = True  # no length: the body is read to its end
    return environ


def _body_length(scope: dict[str, Any]) -> tuple[bool, int | None]:
    """(has a body, its Content-Length or None for a chunked one)."""
    length: int | None = 0
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            return True, None
        if name == b"content-length":
            text = value.strip()
            length = int(text) if text.isdigit() else None
    return length != 0, length


class Bridge:
    """An ASGI app that serves a WSGI app from a pool of `threads` threads of its own."""

    def __init__(self, app: WSGIApp, threads: int, idle_timeout: float):
        self.app = app
        self.idle_timeout = idle_timeout
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.active = 0  # HTTP requests in this bridge now (read and written on the loop only)
        self.started = 0  # HTTP requests begun so far
        self._threads = [threading.Thread(target=self._work, name=f"labkit-http-{i}",
                                          daemon=True) for i in range(threads)]
        for t in self._threads:
            t.start()

    def close(self) -> None:
        """Let the threads end once the requests queued before this are served."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, fut, fn, args = job
            try:
                result: Any = fn(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the request's coroutine
                result = _Failed(e)
            try:
                loop.call_soon_threadsafe(_settle, fut, result)
            except RuntimeError:  # the loop is closed: the server stopped meanwhile
                pass

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._jobs.put((loop, fut, fn, args))
        result = await fut
        if isinstance(result, _Failed):
            raise result.error
        return result

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":  # servers that run one: nothing to set up
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        self.active += 1
        self.started += 1
        try:
            await self._http(scope, receive, send)
        finally:
            self.active -= 1

    async def settle(self, quiet: float, limit: float) -> None:
        """Keep the loop turning until no request has been in flight or begun for `quiet`
        seconds (at most `limit`): after the server stopped, a request it accepted just before
        (a client that half-closed its connection) may still be on its way to the loop, and a
        loop closed under it leaves the server's runtime holding a call that never ends."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        seen, still = self.started, loop.time()
        while loop.time() < end:
            await asyncio.sleep(quiet / 5)
            if self.active or self.started != seen:
                seen, still = self.started, loop.time()
            elif loop.time() - still >= quiet:
                return

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        has_body, length = _body_length(scope)
        body: RequestBody | _NoBody
        if has_body:
            body = RequestBody(receive, asyncio.get_running_loop(), length, self.idle_timeout,
                               scope)
        else:
            body = _NoBody()
        try:
            answer: Answer = await self._in_thread(call_app, self.app,
                                                   environ_of(scope, body))
        except Exception as e:
            body.cancel()
            if body.failed and isinstance(e, OSError):  # logged once, when the read failed
                await _answer(scope, send, 400, [CLOSE, (b"content-length", b"0")], b"")
                return
            log.exception("%s %s: the app failed", *_describe(scope))
            await _answer(scope, send, 500, [(b"content-type", b"text/plain"), CLOSE,
                                             (b"content-length", b"15")], b"internal error\n")
            return
        headers = answer.headers
        if not body.finished and not await body.drain(DRAIN_LIMIT, DRAIN_SECONDS):
            headers = [*headers, CLOSE]
        body.cancel()
        if answer.rest is not None and scope["method"] != "HEAD":
            await self._stream(scope, send, answer, headers)
            return
        if answer.close is not None:  # a HEAD answered with a stream: none of it is sent
            await self._in_thread(answer.close)
        await _answer(scope, send, answer.status, headers, answer.body)

    async def _stream(self, scope: dict[str, Any], send: Send, answer: Answer,
                      headers: list[tuple[bytes, bytes]]) -> None:
        """A streamed answer (a blob read from disk): the app's iterator runs in a worker
        thread one piece ahead of the sending, so reading and sending overlap; the client's
        pace holds the reading back."""
        piece = answer.body
        ahead: asyncio.Future[bytes] | None = None
        try:
            await send({"type": "http.response.start", "status": answer.status,
                        "headers": headers})
            while piece:
                ahead = asyncio.ensure_future(self._in_thread(_next_piece, answer.rest))
                try:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                except Exception as e:  # noqa: BLE001 - the server's word for a client gone
                    log.info("%s went away mid-answer (%s): %s", *_describe(scope),
                             e or type(e).__name__)
                    return
                piece = await ahead
                ahead = None
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:  # the app failed mid-answer: the client gets a short body
            log.exception("%s %s: the answer failed mid-way", *_describe(scope))
        finally:
            if ahead is not None:  # the iterator is busy in a thread: close it after
                await asyncio.wait([ahead])
            if answer.close is not None:
                await self._in_thread(answer.close)


async def _answer(scope: dict[str, Any], send: Send, status: int,
                  headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """A whole answer. The answer to a HEAD leaves without its body, whatever part of the lab
    made it (a refusal's JSON, a realm, moto's XML, the bridge's own 500): HTTP forbids content
    there (RFC 9110 9.3.2), and a kept-alive client would read those bytes as the start of its
    next answer. Its headers, Content-Length included, stay those of the GET (RFC 9110 8.6)."""
    if scope["method"] == "HEAD":
        body = b""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _next_piece(rest: Iterator[bytes]) -> bytes:
    """The app iterator's next non-empty piece; b"" at its end."""
    for piece in rest:
        if piece:
            return piece
    return b""


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error


def _settle(fut: asyncio.Future[Any], result: Any) -> None:
    if not fut.done():
        fut.set_result(result)
