"""A loopback reverse proxy in front of moto: waits a fixed latency per AWS call, then forwards
it, and counts calls by operation, so every client pays the same round trip and is counted
the same way.

Operations are named as AWS names them: IAM and STS (query protocol) by the ``Action`` form
field; QuickSight and Clean Rooms (REST) by matching method and path against botocore's own
request-URI templates; S3 by method, path shape and the kind of key (registry pointer,
registry snapshot, journal record). The service comes from the SigV4 credential scope.

Control endpoints (never delayed, never counted): ``GET /__bench__/counts``,
``POST /__bench__/reset``, ``POST /__bench__/latency?ms=N``.

Run alone with ``python -m bench.proxy --upstream http://127.0.0.1:PORT --latency-ms 20``; the
first line it prints is its own URL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

CONTROL_PREFIX = "/__bench__/"
_SCOPE_RE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "date",
        "server",
    }
)
_REST_SERVICES = ("quicksight", "cleanrooms")


def _template_regex(uri: str) -> tuple[re.Pattern[str], int]:
    """A regex for a botocore request URI (``/a/{Id}/b``), and its count of literal chars."""
    path = uri.split("?", 1)[0]
    pattern = ""
    literal = 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            pattern += ".+" if part.endswith("+}") else "[^/]+"
        else:
            pattern += re.escape(part)
            literal += len(part)
    return re.compile(f"^{pattern}$"), literal


class RestOperations:
    """Names REST calls of the services in ``_REST_SERVICES`` from botocore's models."""

    def __init__(self, services: tuple[str, ...] = _REST_SERVICES) -> None:
        import botocore.session

        session = botocore.session.get_session()
        self._table: dict[str, list[tuple[str, re.Pattern[str], int, str]]] = {}
        for service in services:
            model = session.get_service_model(service)
            rows = []
            for name in model.operation_names:
                http_spec = model.operation_model(name).http
                regex, literal = _template_regex(str(http_spec.get("requestUri", "/")))
                rows.append((str(http_spec.get("method", "GET")), regex, literal, name))
            # The most literal template wins: /a/{x}/permissions before /a/{x}/{y}.
            rows.sort(key=lambda row: -row[2])
            self._table[service] = rows

    def name(self, service: str, method: str, path: str) -> str | None:
        for row_method, regex, _literal, name in self._table.get(service, ()):
            if row_method == method and regex.match(path):
                return name
        return None


def s3_key_kind(key: str) -> str:
    """What an S3 key holds, from driftwarden's layouts (docs/registry.md, the journal)."""
    if key.endswith("current.json"):
        return "registry-pointer"
    if "/snapshots/" in f"/{key}":
        return "registry-snapshot"
    if "actions/" in key:
        return "journal"
    return "object"


def s3_operation(method: str, path: str, query: Mapping[str, list[str]]) -> str:
    """``GetObject[registry-pointer]``, ``ListObjectsV2[journal]``, ``PutObject[journal]``..."""
    bucket, _, key = path.lstrip("/").partition("/")
    key = unquote(key)
    if not bucket:
        return "ListBuckets"
    if not key:
        prefix = (query.get("prefix") or [""])[0]
        kind = s3_key_kind(prefix) if prefix else "bucket"
        if method == "GET" and "list-type" in query:
            return f"ListObjectsV2[{kind}]"
        names = {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket"}
        sub = next(iter(sorted(query)), "")
        base = names.get(method, method)
        return f"{base}?{sub}" if sub and method != "GET" else f"{base}[{kind}]"
    names = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
    return f"{names.get(method, method)}[{s3_key_kind(key)}]"


def classify(
    method: str, raw_path: str, headers: Mapping[str, str], body: bytes, rest: RestOperations
) -> str:
    """``service:Operation`` of one AWS request as it reaches the proxy."""
    scope = _SCOPE_RE.search(headers.get("Authorization", "") or headers.get("authorization", ""))
    service = scope.group(1) if scope else "unknown"
    parts = urlsplit(raw_path)
    path = parts.path
    query = parse_qs(parts.query, keep_blank_values=True)
    if service in ("iam", "sts"):
        action = (query.get("Action") or [""])[0]
        if not action and body:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            action = (form.get("Action") or [""])[0]
        return f"{service}:{action or method}"
    if service == "s3":
        return f"s3:{s3_operation(method, path, query)}"
    name = rest.name(service, method, path)
    if name:
        return f"{service}:{name}"
    template = re.sub(r"/[^/]*\d[^/]*", "/{}", path)
    return f"{service}:{method} {template}"


class _Stats:
    """Call counts by operation, and counts of non-2xx answers by ``operation status``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def add(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] += 1

    def status(self, operation: str, status: int) -> None:
        if 200 <= status < 300:
            return
        with self.lock:
            self.statuses[f"{operation} {status}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"calls": dict(self.calls), "statuses": dict(self.statuses)}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.statuses.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer
    _upstream: http.client.HTTPConnection | None = None
    # Silence the per-request log lines.
    log_message: ClassVar[Any] = lambda self, *args: None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # and delayed ACKs add about 40 ms to every call on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _control(self, body: bytes) -> None:
        stats = self.server.stats
        parts = urlsplit(self.path)
        name = parts.path[len(CONTROL_PREFIX) :]
        if name == "counts":
            payload = stats.snapshot()
            payload["latency_ms"] = self.server.latency * 1000
        elif name == "reset":
            stats.reset()
            payload = {"ok": True}
        elif name == "latency":
            ms = float((parse_qs(parts.query).get("ms") or ["0"])[0])
            self.server.latency = ms / 1000
            payload = {"latency_ms": ms}
        else:
            self.send_error(404)
            return
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self) -> None:
        body = self._body()
        if self.path.startswith(CONTROL_PREFIX):
            self._control(body)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        operation = classify(self.command, self.path, headers, body, self.server.rest)
        self.server.stats.add(operation)
        if self.server.latency > 0:
            time.sleep(self.server.latency)
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        status, reason, out_headers, payload = self._send_upstream(headers, body)
        self.server.stats.status(operation, status)
        self.send_response_only(status, reason)
        for key, value in out_headers:
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        if self.command == "HEAD":
            upstream_length = next((v for k, v in out_headers if k.lower() == "content-length"), "")
            if upstream_length:
                self.send_header("Content-Length", upstream_length)
        elif not no_body:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not no_body:
            self.wfile.write(payload)

    def _send_upstream(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in range(2):
            if self._upstream is None:
                host, port = self.server.upstream
                self._upstream = http.client.HTTPConnection(host, port, timeout=300)
                self._upstream.connect()
                self._upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = self._upstream.getresponse()
                payload = response.read()
                return response.status, response.reason, response.getheaders(), payload
            except (ConnectionError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], latency: float) -> None:
        super().__init__(listen, _Handler)
        self.upstream = upstream
        self.latency = latency
        self.stats = _Stats()
        self.rest = RestOperations()


def serve(upstream_url: str, latency_ms: float, port: int = 0) -> _ProxyServer:
    """Start the proxy on 127.0.0.1 in a background thread and return the server."""
    parts = urlsplit(upstream_url)
    server = _ProxyServer(
        ("127.0.0.1", port), (parts.hostname or "127.0.0.1", parts.port or 80), latency_ms / 1000
    )
    threading.Thread(target=server.serve_forever, name="bench-proxy", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = serve(args.upstream, args.latency_ms, args.port)
    port = server.server_address[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    # Serve until the parent closes our stdin (or kills us).
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
