"""Faults injected at the botocore level, never by patching driftwarden.

``refuse`` makes one operation of one client raise a ``ClientError`` (a
``before-parameter-build`` hook: the request is never sent, and botocore does not retry it).
``throttle`` answers a share of a client's calls with an HTTP error response in place of the
server (a ``before-send`` hook: botocore parses it as it would AWS's, and its standard retry
mode backs off and retries).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError


@dataclass
class Fault:
    """One registered hook: how often it fired, and how to take it away."""

    client: Any
    event: str
    handler: Any
    fired: int = 0
    seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def remove(self) -> None:
        """Unregister the hook: the client behaves normally again."""
        self.client.meta.events.unregister(self.event, self.handler)

    def _count(self, fire: bool) -> bool:
        with self._lock:
            self.seen += 1
            if fire:
                self.fired += 1
        return fire


def _service(client: Any) -> str:
    return str(client.meta.service_model.service_id.hyphenize())


def refuse(
    client: Any,
    operation: str,
    code: str = "AccessDenied",
    message: str = "injected fault",
    status: int = 403,
    *,
    when: Callable[[Mapping[str, Any]], bool] | None = None,
    after: int = 0,
) -> Fault:
    """Make ``operation`` calls of ``client`` raise ``ClientError(code)`` until removed.

    The hook runs when botocore builds the request (``before-parameter-build``), so the
    request is never sent. ``when`` limits it to calls whose API parameters it accepts (e.g.
    one S3 key); ``after`` lets that many matching calls through first.

    Example
    -------
    >>> fault = refuse(wiring.client("iam"), "DetachRolePolicy")  # doctest: +SKIP
    >>> fault.remove()  # doctest: +SKIP
    """
    event = f"before-parameter-build.{_service(client)}.{operation}"
    fault = Fault(client, event, None)

    def handler(params: Mapping[str, Any], model: Any, **_: Any) -> None:
        if when is not None and not when(params):
            return
        with fault._lock:
            fault.seen += 1
            if fault.seen <= after:
                return
            fault.fired += 1
        response: Any = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        raise ClientError(response, model.name)

    fault.handler = handler
    client.meta.events.register(event, handler)
    return fault


class _Body:
    """The ``raw`` of an ``AWSResponse``: something with ``stream()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def query_error(code: str, message: str) -> bytes:
    """An error body as the query-protocol services (IAM, SNS, STS) write it."""
    return (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    ).encode()


def _attempt(request: Any) -> tuple[str, int]:
    """The invocation id and attempt number botocore stamps on every request it sends
    (``amz-sdk-invocation-id``, ``amz-sdk-request: attempt=N; max=M``)."""

    def header(name: str) -> str:
        value = request.headers.get(name, "")
        return value.decode() if isinstance(value, bytes) else str(value)

    invocation = header("amz-sdk-invocation-id")
    attempt = 1
    for part in header("amz-sdk-request").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            attempt = int(value)
    return invocation, attempt


def throttle(
    client: Any,
    rate: float,
    seed: int,
    *,
    status: int = 400,
    code: str = "Throttling",
    operation: str | None = None,
    max_in_a_row: int | None = 2,
) -> Fault:
    """Throttle a share ``rate`` of ``client``'s API calls (or one operation's), answering in
    place of the server with an error response; a ``random.Random(seed)`` chooses the calls.

    A throttled call is answered with the error on its first attempt, and each retry is
    throttled again with the same probability, at most ``max_in_a_row`` times in a row
    (``None``: every attempt, i.e. the service is down). The response carries a
    query-protocol error body (IAM's ``Throttling`` by default, HTTP 400 as IAM sends it, or
    e.g. 429); botocore's standard retry mode backs off and retries it. ``fired`` counts the
    error responses, ``seen`` the requests.
    """
    rng = random.Random(seed)
    event = f"before-send.{_service(client)}" + (f".{operation}" if operation else "")
    fault = Fault(client, event, None)
    throttled: dict[str, bool] = {}

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        invocation, attempt = _attempt(request)
        with fault._lock:
            if attempt == 1 or invocation not in throttled:
                hit = rng.random() < rate
            elif not throttled[invocation] or (max_in_a_row is not None and attempt > max_in_a_row):
                hit = False
            else:
                hit = max_in_a_row is None or rng.random() < rate
            throttled[invocation] = hit
        if not fault._count(hit):
            return None
        body = query_error(code, "Rate exceeded (injected)")
        headers = HTTPHeaders()
        headers["Content-Type"] = "text/xml"
        headers["Content-Length"] = str(len(body))
        return AWSResponse(request.url, status, headers, _Body(body))

    fault.handler = handler
    client.meta.events.register(event, handler)
    return fault
