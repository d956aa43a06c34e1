"""A stand-in for Slack on loopback: records webhook and ``chat.postMessage`` posts.

Used by the local demo (which prints what would be posted, via ``render_text``) and by the
tests. It binds 127.0.0.1 on a free port, serves from a background thread, answers like
Slack (``ok`` for webhooks, ``{"ok": true, ...}`` for the Web API) and can be told to fail.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

WEBHOOK_PATH = "/services/T000/B000/standin"
API_PATH = "/api/"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One POST the stand-in received, whatever it answered."""

    path: str
    payload: Mapping[str, Any]
    status: int
    authorization: str | None = None


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    retry_after: int | None = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: deque[_Failure] = field(default_factory=deque)
    delay: float = 0.0
    closing: threading.Event = field(default_factory=threading.Event)


class SlackStandIn:
    """A loopback HTTP server that behaves like a Slack webhook and the Web API.

    ``url`` is an incoming-webhook URL; ``api_url`` is a Web API base URL for
    ``slack_sdk.WebClient(base_url=...)``. ``messages`` lists the payloads that were
    accepted; ``requests`` lists every POST with the status answered.

    Example
    -------
    >>> with SlackStandIn() as slack:  # doctest: +SKIP
    ...     SlackNotifier(slack.url).send(alert)
    ...     print(render_text(slack.messages[0]))
    """

    def __init__(self) -> None:
        self._state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._state))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start serving in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="slack-stand-in",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._state.closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses ----------------------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """An incoming-webhook URL served by the stand-in."""
        return self.base + WEBHOOK_PATH

    @property
    def api_url(self) -> str:
        """A Web API base URL (``.../api/``) for bot-token mode."""
        return self.base + API_PATH

    # recorded traffic ---------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """A copy of the accepted payloads, oldest first."""
        with self._state.lock:
            return list(self._state.messages)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every POST received, oldest first, with the status answered."""
        with self._state.lock:
            return list(self._state.requests)

    def clear(self) -> None:
        """Forget recorded traffic and pending failures."""
        with self._state.lock:
            self._state.messages.clear()
            self._state.requests.clear()
            self._state.failures.clear()
            self._state.delay = 0.0

    # failure injection --------------------------------------------------------------------

    def fail_next(
        self, status: int = 500, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next ``times`` posts with ``status`` (and ``Retry-After`` when given)."""
        with self._state.lock:
            self._state.failures.extend(_Failure(status, retry_after) for _ in range(times))

    def set_delay(self, seconds: float) -> None:
        """Wait ``seconds`` before answering each post (to make clients time out)."""
        with self._state.lock:
            self._state.delay = seconds

    @staticmethod
    def render_text(payload: Mapping[str, Any]) -> str:
        """A readable plain-text rendering of a posted payload (see ``render_text``)."""
        return render_text(payload)


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            payload = _decode(raw, self.headers.get("Content-Type") or "")
            api = self.path.startswith(API_PATH)
            with state.lock:
                failure = state.failures.popleft() if state.failures else None
                delay = state.delay
            if delay:
                state.closing.wait(delay)
            status = failure.status if failure else 200
            with state.lock:
                state.requests.append(
                    RecordedRequest(self.path, payload, status, self.headers.get("Authorization"))
                )
                if failure is None:
                    state.messages.append(payload)
            if failure is not None:
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
                )
                error = "ratelimited" if failure.status == 429 else "internal_error"
                body = json.dumps({"ok": False, "error": error}) if api else error
                self._reply(failure.status, body, headers, api)
            elif api:
                reply = {"ok": True, "channel": payload.get("channel"), "ts": "1700000000.000100"}
                self._reply(200, json.dumps(reply), {}, api)
            else:
                self._reply(200, "ok", {}, api)

        def _reply(self, status: int, body: str, headers: Mapping[str, str], api: bool) -> None:
            data = body.encode("utf-8")
            kind = "application/json" if api else "text/plain"
            with contextlib.suppress(OSError):  # the client may have given up (timeout)
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return {"_raw": text}
        return data if isinstance(data, dict) else {"_raw": data}
    from urllib.parse import parse_qsl

    return dict(parse_qsl(text))


# --------------------------------------------------------------------------------------------
# Block Kit -> plain text


_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def render_text(payload: Mapping[str, Any]) -> str:
    """A readable plain-text rendering of a Slack message (Block Kit, else its ``text``).

    Headers are underlined, section fields become ``Label: value`` lines, code blocks are
    indented, dividers become a rule and context lines are kept.
    """
    blocks = payload.get("blocks") or []
    if not blocks:
        return _plain(str(payload.get("text") or ""))
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _plain(block.get("text", {}).get("text", ""))
            lines += [title, "=" * min(len(title), 78)]
        elif kind == "section":
            text = block.get("text", {}).get("text")
            if text:
                lines += _mrkdwn_lines(text)
            for item in block.get("fields") or []:
                label, _, value = _plain(item.get("text", "")).partition("\n")
                lines.append(f"{label}: {value}" if value else label)
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "context":
            lines += [_plain(el.get("text", "")) for el in block.get("elements") or []]
        else:
            lines.append(f"[{kind} block]")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _mrkdwn_lines(text: str) -> list[str]:
    out: list[str] = []
    in_code = False
    for piece in re.split(r"(```)", text):
        if piece == "```":
            in_code = not in_code
            continue
        for line in piece.split("\n"):
            if in_code:
                out.append("    " + html.unescape(line))
            elif line.strip():
                out.append(_plain(line))
    return out


def _plain(text: str) -> str:
    text = _LINK.sub(r"\2 (\1)", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    text = text.replace("`", "")
    return html.unescape(text)


__all__ = ["RecordedRequest", "SlackStandIn", "render_text"]
