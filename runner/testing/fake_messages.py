"""A stateful loopback fake of the Anthropic Messages API, for tests and benchmarks (stdlib only).

`FakeMessagesAPI` serves `POST /v1/messages` (JSON, or SSE framed like the real API when
`"stream": true`), `POST /v1/messages/count_tokens` and `GET /v1/models` (`fake_models.py`) on
127.0.0.1. Thinking blocks it serves are signed, and with `check_thinking` (or a turn's own
`check_thinking`) a request that drops or edits them is answered 400 like the API does
(`thinking_replay.py`). It replies with scripted
assistant turns, injects faults (HTTP errors with the API's error bodies, dropped connections,
hangs, and streams that fail part-way: an `error` event, a malformed data line, an early end),
bills usage with prompt-cache accounting and logs every request.

    with FakeMessagesAPI([[tool_use("Read", {"path": "a.py"})], [text("All good.")]]) as fake:
        client = anthropic.Anthropic(api_key="sk-test", base_url=fake.base_url)

CLI: `python -m runner.testing.fake_messages --port N --script FILE.json [--log FILE.jsonl]`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import secrets
import string
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from runner.testing.fake_models import models_reply, served_models
from runner.testing.loopback import FakeServer, LoopbackServer
from runner.testing.prompt_cache import PromptCache, effective_input, estimate_tokens, input_tokens
from runner.testing.scripting import (
    DONE_TEXT,
    FAULT_KINDS,
    PARTIAL_KINDS,
    Fault,
    Turn,
    fault,
    redacted_thinking,
    text,
    thinking,
    tool_use,
    turn,
    web_search,
)
from runner.testing.sse import JSONDict, encode_event, message_events
from runner.testing.thinking_replay import ThinkingLedger

if TYPE_CHECKING:
    from runner.testing.fake_token_exchange import TokenExchange

__all__ = [
    "DONE_TEXT",
    "FAULT_KINDS",
    "FakeMessagesAPI",
    "Fault",
    "PromptCache",
    "RequestRecord",
    "Turn",
    "effective_input",
    "estimate_tokens",
    "fault",
    "input_tokens",
    "main",
    "redacted_thinking",
    "text",
    "thinking",
    "tool_use",
    "turn",
    "web_search",
]


@dataclass
class RequestRecord:
    """One request the fake received and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    nbytes: int
    timestamp: float
    request_id: str
    status: int = 200
    reply: Any = None
    usage: dict[str, int] | None = None
    effective_input: float = 0.0
    fault: str | None = None
    turn_index: int | None = None

    @property
    def stream(self) -> bool:
        """Whether the request asked for an SSE stream."""
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def log_entry(self) -> JSONDict:
        """The JSON line written to the request log."""
        body: JSONDict = self.body if isinstance(self.body, dict) else {}
        tools = [t.get("name") for t in body.get("tools") or []]
        return {
            "path": self.path,
            "status": self.status,
            "bytes": self.nbytes,
            "model": body.get("model"),
            "n_tools": len(tools),
            "tools": tools,
            "system_tokens": estimate_tokens(body.get("system", "")),
            "tools_tokens": estimate_tokens(body.get("tools", [])),
            "messages_tokens": estimate_tokens(body.get("messages", [])),
            "usage": self.usage,
            "effective_input": round(self.effective_input, 2),
            "stream": self.stream,
            "fault": self.fault,
            "turn": self.turn_index,
            "request_id": self.request_id,
        }


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str, JSONDict]] | None = None
    delay_s: float = 0.0
    drop_after: int | None = None  # SSE events (or half the JSON body) sent before the connection drops
    hang_s: float | None = None
    raw_body: bytes | None = None  # a body sent as it is (not JSON), with its own content-length
    # A stream fault: `events` are those sent before it strikes, `tail` the frames that follow
    # (an error event, or a malformed line and the rest); the body then ends cleanly.
    fault: Fault | None = None
    tail: list[bytes] = field(default_factory=list)


def _error(kind: str, message: str | None = None) -> _Reply:
    status, etype, default = FAULT_KINDS[kind]
    return _Reply(status, {"type": "error", "error": {"type": etype, "message": message or default}})


class FakeMessagesAPI(LoopbackServer):
    """Loopback Messages API with scripted turns, faults and prompt-cache billing.

    `turns`: scripted replies, served in order to `/v1/messages` requests (see `Turn.coerce` for the
    accepted shapes); once exhausted every reply is the text "Done.". `faults`: queued faults, each
    answering one `/v1/messages` request before any turn is served. `api_key`: if set, requests must
    carry it (`x-api-key` or `authorization: Bearer`), else 401. `unknown_models`: model ids answered
    with 404 not_found_error. `tools_only`: only requests that offer tools consume scripted turns
    (others get "Done."); a request with `tool_choice` "none" (a summary) never does. `log_path`:
    append one JSON line per request."""

    _thread_name = "fake-messages"
    # Sign-in checks of OAuth tokens and the federation token exchange (`POST /v1/oauth/token`),
    # when a test attaches them (runner.testing.fake_token_exchange).
    token_exchange: TokenExchange | None = None

    def __init__(
        self,
        turns: Iterable[Any] = (),
        *,
        faults: Iterable[Fault | Mapping[str, Any] | str] = (),
        api_key: str | None = None,
        unknown_models: Iterable[str] = (),
        tools_only: bool = False,
        log_path: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] | None = None,
        check_thinking: bool = False,
    ) -> None:
        self.api_key, self.unknown_models, self.tools_only = api_key, set(unknown_models), tools_only
        # `models`: the ids GET /v1/models lists (default: fake_models.DEFAULT_MODELS), newest first.
        self.models = tuple(m for m in served_models(models) if m.id not in self.unknown_models)
        self.check_thinking, self.thinking = check_thinking, ThinkingLedger()
        self.log_path, self.cache = log_path, PromptCache()
        self._address = (host, port)
        self._script: list[Any] = list(turns)
        self._faults: deque[Fault] = deque(Fault.coerce(f) for f in faults)
        self._next_turn = self._turn_faults_served = 0
        self._records: list[RequestRecord] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()

    # -- lifecycle (LoopbackServer) --------------------------------------------------------------
    def _make_server(self) -> _Server:
        return _Server(self._address, _Handler, self)

    def _before_start(self) -> None:
        self._stopping.clear()

    def _before_shutdown(self) -> None:
        self._stopping.set()  # delayed and hanging replies end at once

    # -- scripting and inspection -----------------------------------------------------------------
    def add_turn(self, spec: Any) -> None:
        """Append one scripted turn (any shape `Turn.coerce` accepts)."""
        with self._lock:
            self._script.append(spec)

    def add_turns(self, turns: Iterable[Any]) -> None:
        """Append scripted turns (a list of turns, like the constructor's `turns`)."""
        with self._lock:
            self._script.extend(turns)

    def queue_fault(self, *faults: Fault | Mapping[str, Any] | str) -> None:
        """Queue faults; each answers the next `/v1/messages` request without consuming a turn."""
        with self._lock:
            self._faults.extend(Fault.coerce(f) for f in faults)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._records)

    @property
    def message_requests(self) -> list[RequestRecord]:
        """The `/v1/messages` requests (not count_tokens)."""
        return [r for r in self.requests if r.path.split("?")[0].rstrip("/") == "/v1/messages"]

    @property
    def turns_served(self) -> int:
        """How many scripted turns have been served."""
        with self._lock:
            return self._next_turn

    @property
    def turns_remaining(self) -> int:
        """How many scripted turns are still to be served."""
        with self._lock:
            return len(self._script) - self._next_turn

    @property
    def effective_input_tokens(self) -> float:
        """Sum of effective input (input + 1.25 x cache writes + 0.1 x cache reads) over all requests."""
        return sum(r.effective_input for r in self.requests)

    # -- request handling -------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_01{next(self._ids):022x}"

    def _handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        alphabet = string.ascii_letters + string.digits
        rid = "req_011C" + "".join(secrets.choice(alphabet) for _ in range(20))
        record = RequestRecord(method, path, headers, None, len(raw), time.time(), rid)
        try:
            record.body = json.loads(raw) if raw else None
        except ValueError:
            record.body = raw.decode(errors="replace")
        try:
            reply = self._route(record)
        except Exception as exc:  # a broken script or callable turn: answer rather than hang the client
            reply = _error("api_error", f"fake_messages: {type(exc).__name__}: {exc}")
        reply.headers["request-id"] = rid
        record.status = reply.status
        record.reply = reply.body
        with self._lock:
            self._records.append(record)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as log:
                    log.write(json.dumps(record.log_entry()) + "\n")
        return reply

    def _route(self, record: RequestRecord) -> _Reply:
        route = record.path.split("?")[0].rstrip("/")
        if record.method == "POST" and route == "/v1/oauth/token" and self.token_exchange is not None:
            return _Reply(*self.token_exchange.exchange(record.headers, record.body))
        listing = record.method == "GET" and (route == "/v1/models" or route.startswith("/v1/models/"))
        if not listing and (
            record.method != "POST" or route not in ("/v1/messages", "/v1/messages/count_tokens")
        ):
            return _error("not_found")
        bearer = record.headers.get("authorization", "").removeprefix("Bearer ")
        key = record.headers.get("x-api-key") or bearer
        if not key:
            return _error("authentication", "x-api-key header is required")
        refused = self.token_exchange.refuse(record.headers) if self.token_exchange is not None else None
        if refused is not None:
            return _error("authentication", refused)
        if (
            self.token_exchange is not None
            and bearer.startswith("sk-ant-oat")
            and not record.headers.get("x-api-key")
        ):
            key = self.api_key or key  # an accepted OAuth token stands in for the key
        if self.api_key is not None and key != self.api_key:
            return _error("authentication")
        if "anthropic-version" not in record.headers:
            return _error("invalid_request", "anthropic-version: header is required")
        if listing:
            status, body = models_reply(record.path, self.models)
            return _Reply(status, body)
        req = record.body
        if not isinstance(req, dict):
            return _error("invalid_request", "There was an error parsing the body of your request")
        counting = route.endswith("count_tokens")
        required = ("model", "messages") if counting else ("model", "max_tokens", "messages")
        missing = [name for name in required if name not in req]
        if missing:
            return _error("invalid_request", f"{missing[0]}: Field required")
        if req["model"] in self.unknown_models:
            return _error("not_found", f"model: {req['model']}")
        if counting:
            return _Reply(200, {"input_tokens": input_tokens(req)})
        with self._lock:
            next_turn, injected = self._take_turn(req, record)
            problem = self.thinking.check(req) if self.check_thinking or next_turn.check_thinking else None
            if problem is not None:
                if record.turn_index is not None:  # the turn was not answered: serve it next time
                    self._next_turn, record.turn_index = record.turn_index, None
                return _error("invalid_request", problem)
        message = self._message(req, next_turn)
        if injected is not None:
            record.fault = injected.kind
            return self._fault_reply(injected, req, message)
        usage = {
            **message["usage"],
            **self.cache.usage(req),
            "output_tokens": max(1, estimate_tokens(message["content"])),
        }
        message["usage"] = {**usage, "service_tier": "standard"}
        record.usage, record.effective_input = usage, effective_input(usage)
        if req.get("stream"):
            return _Reply(200, message, events=message_events(message), delay_s=next_turn.delay_s)
        return _Reply(200, message, delay_s=next_turn.delay_s)

    def _take_turn(self, req: JSONDict, record: RequestRecord) -> tuple[Turn, Fault | None]:
        """The turn this request answers with, and the fault it gets instead (the turn then stays)."""
        # A request that may not call tools (a compaction summary) never takes a scripted turn.
        declines_tools = (req.get("tool_choice") or {}).get("type") == "none"
        scripted = (
            self._next_turn < len(self._script)
            and not declines_tools
            and (bool(req.get("tools")) or not self.tools_only)
        )
        if self._faults and self._faults[0].kind not in PARTIAL_KINDS:  # the others never show the turn
            return Turn([]), self._faults.popleft()
        current = Turn.coerce(self._script[self._next_turn], req) if scripted else Turn([text(DONE_TEXT)])
        if self._faults:
            return current, self._faults.popleft()
        if scripted and self._turn_faults_served < len(current.faults):
            self._turn_faults_served += 1
            return current, current.faults[self._turn_faults_served - 1]
        if scripted:
            record.turn_index = self._next_turn
            self._next_turn, self._turn_faults_served = self._next_turn + 1, 0
        return current, None

    def _message(self, req: JSONDict, reply: Turn) -> JSONDict:
        content = [dict(b) for b in reply.content]
        searches, server_id = 0, ""
        for block in content:
            if block.get("type") == "tool_use" and not block.get("id"):
                block["id"] = self._new_id("toolu")
            elif block.get("type") == "server_tool_use":
                block.setdefault("id", self._new_id("srvtoolu"))
                server_id, searches = block["id"], searches + (block.get("name") == "web_search")
            elif block.get("type") == "web_search_tool_result":
                block.setdefault("tool_use_id", server_id)
        self.thinking.sign(content)
        self.thinking.record(content)
        stop = reply.stop_reason or (
            "tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn"
        )
        return {
            "id": self._new_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": reply.model or req.get("model", "claude-fake"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 0,
                "output_tokens": estimate_tokens(content),
                **({"server_tool_use": {"web_search_requests": searches}} if searches else {}),
            },
        }

    def _fault_reply(self, injected: Fault, req: JSONDict, message: JSONDict) -> _Reply:
        if injected.kind == "hang":
            return _Reply(0, hang_s=injected.delay_s)
        events = message_events(message) if req.get("stream") else None
        if injected.kind == "drop":
            return _Reply(200, message, events=events, drop_after=injected.cut(events or []))
        if injected.kind == "stream_error" and events is None:  # not streaming: the HTTP error instead
            kind, body = injected.error_body()
            return _error(kind, injected.message) if kind else _Reply(500, body)
        if injected.kind in PARTIAL_KINDS:
            if events is None:
                raw = json.dumps(message).encode()
                cut = injected.data.encode() if injected.data is not None else raw[: len(raw) // 2]
                return _Reply(200, message, raw_body=cut)
            sent, tail = events[: injected.cut(events)], injected.stream_tail(events)
            return _Reply(200, message, events=sent, fault=injected, tail=tail)
        reply = _error(injected.kind, injected.message)
        if injected.retry_after is not None:
            reply.headers["retry-after"] = f"{injected.retry_after:g}"
        return reply

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once when the server stops; False if it is stopping."""
        return not self._stopping.wait(seconds) if seconds > 0 else True


class _Server(FakeServer):
    fake: FakeMessagesAPI


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # see fake_github: avoids ~40 ms stalls on kept-alive connections
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.server.fake
        reply = fake._handle(method, self.path, headers, raw)
        if reply.hang_s is not None:
            fake._wait(reply.hang_s)
            self.close_connection = True
            return
        if not fake._wait(reply.delay_s):
            self.close_connection = True
            return
        if reply.events is None:
            body = reply.raw_body if reply.raw_body is not None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self._headers(reply, {"content-type": "application/json", "content-length": str(len(body))})
            if reply.drop_after is not None:
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body)
            return
        self.send_response(reply.status)
        self._headers(
            reply,
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
            },
        )
        chunks = [*(encode_event(*e) for e in reply.events), *reply.tail]
        if reply.drop_after is None:  # all at once: how the client reads it then does not depend on timing
            self.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n")
            return
        for i, chunk in enumerate(chunks):
            if i >= reply.drop_after:
                self.wfile.flush()
                self.close_connection = True  # no terminating chunk: the client sees a broken stream
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _headers(self, reply: _Reply, base: dict[str, str]) -> None:
        for name, value in {**base, **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()


def _load_script(path: str, repeat: int) -> tuple[list[Any], list[Any]]:
    with open(path, encoding="utf-8") as f:
        script = json.load(f)
    if isinstance(script, dict):
        return list(script.get("turns", [])) * repeat, list(script.get("faults", []))
    return list(script) * repeat, []


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a scripted fake until killed: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m runner.testing.fake_messages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--script", help='JSON: a list of turns, or {"turns": [...], "faults": [...]}')
    parser.add_argument("--log", help="append one JSON line per request to this file")
    parser.add_argument("--turns-repeat", type=int, default=1, help="serve the scripted turns K times over")
    parser.add_argument("--api-key", help="answer 401 unless requests carry this key")
    parser.add_argument("--unknown-model", action="append", default=[], help="answer 404 for this model id")
    parser.add_argument(
        "--tools-only", action="store_true", help="only requests that offer tools consume scripted turns"
    )
    parser.add_argument("--model", action="append", dest="models", help="a model GET /v1/models lists")
    parser.add_argument(
        "--check-thinking",
        action="store_true",
        help="answer 400 when served thinking blocks do not come back",
    )
    args = parser.parse_args(argv)
    turns, faults = _load_script(args.script, args.turns_repeat) if args.script else ([], [])
    fake = FakeMessagesAPI(
        turns,
        faults=faults,
        api_key=args.api_key,
        unknown_models=args.unknown_model,
        tools_only=args.tools_only,
        log_path=args.log,
        port=args.port,
        models=args.models,
        check_thinking=args.check_thinking,
    )
    with fake:
        print(f"listening on {fake.base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
